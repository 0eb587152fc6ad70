/**
 * The OpenTelemetry resource of each traced process: who the spans belong
 * to. service.name comes from the selector that chose the process (its
 * `name`), then the process's own OTEL_SERVICE_NAME, then service.name in
 * its OTEL_RESOURCE_ATTRIBUTES, then its container's name, then its
 * executable name. Processes of one service (pre-fork workers) share the
 * name and keep their own service.instance.id.
 */
import { hostname } from 'node:os';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import {
  ATTR_SERVICE_INSTANCE_ID,
  ATTR_SERVICE_NAME,
  ATTR_SERVICE_NAMESPACE,
  ATTR_TELEMETRY_DISTRO_NAME,
  ATTR_TELEMETRY_DISTRO_VERSION,
  ATTR_TELEMETRY_SDK_LANGUAGE,
  ATTR_TELEMETRY_SDK_NAME,
  ATTR_TELEMETRY_SDK_VERSION,
} from '@opentelemetry/semantic-conventions';
import type { Attributes } from '@opentelemetry/api';
import type { ProcessFacts } from '../discovery/procfs.js';
import { SDK_VERSION, VERSION } from '../version.js';
import {
  ATTR_CONTAINER_ID,
  ATTR_CONTAINER_NAME,
  ATTR_HOST_NAME,
  ATTR_PROCESS_COMMAND_LINE,
  ATTR_PROCESS_EXECUTABLE_NAME,
  ATTR_PROCESS_EXECUTABLE_PATH,
  ATTR_PROCESS_PID,
} from './semconv.js';

/** OTEL_RESOURCE_ATTRIBUTES: "k=v,k2=v2", values percent-encoded; bad pairs skipped. */
export function parseResourceAttributes(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    try {
      out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      // a malformed percent-escape: skip the pair, as the SDKs do
    }
  }
  return out;
}

/** What a selector says of the processes it picks. */
export interface ServiceOverride {
  readonly name?: string | undefined;
  readonly namespace?: string | undefined;
}

export function serviceAttributes(pid: number, facts: ProcessFacts | null, host: string, override?: ServiceOverride): Attributes {
  const own = facts?.otelResourceAttributes ? parseResourceAttributes(facts.otelResourceAttributes) : {};
  const exeName = facts?.exeName || 'unknown';
  const container = facts?.container;
  const attrs: Attributes = {
    ...own,
    [ATTR_SERVICE_NAME]: override?.name || facts?.otelServiceName || own[ATTR_SERVICE_NAME] || container?.name || exeName,
    [ATTR_SERVICE_INSTANCE_ID]: `${host}:${pid}`,
    [ATTR_PROCESS_PID]: pid,
    [ATTR_PROCESS_EXECUTABLE_NAME]: exeName,
    [ATTR_HOST_NAME]: host,
    [ATTR_TELEMETRY_SDK_NAME]: 'opentelemetry',
    [ATTR_TELEMETRY_SDK_LANGUAGE]: 'nodejs',
    [ATTR_TELEMETRY_SDK_VERSION]: SDK_VERSION,
    [ATTR_TELEMETRY_DISTRO_NAME]: 'sonde',
    [ATTR_TELEMETRY_DISTRO_VERSION]: VERSION,
  };
  if (override?.namespace) attrs[ATTR_SERVICE_NAMESPACE] = override.namespace;
  if (container?.id) attrs[ATTR_CONTAINER_ID] = container.id;
  if (container?.name) attrs[ATTR_CONTAINER_NAME] = container.name;
  if (facts?.exePath) attrs[ATTR_PROCESS_EXECUTABLE_PATH] = facts.exePath;
  if (facts?.commandLine) attrs[ATTR_PROCESS_COMMAND_LINE] = facts.commandLine;
  return attrs;
}

/** One Resource per process, built on first use and dropped when it exits. */
export class ServiceResources {
  private readonly byPid = new Map<number, Resource>();
  private readonly host = hostname();

  constructor(
    private readonly factsOf: (pid: number) => ProcessFacts | null,
    private readonly overrideOf: (pid: number) => ServiceOverride | undefined = () => undefined,
  ) {}

  of(pid: number): Resource {
    let r = this.byPid.get(pid);
    if (!r) {
      r = resourceFromAttributes(serviceAttributes(pid, this.factsOf(pid), this.host, this.overrideOf(pid)));
      this.byPid.set(pid, r);
    }
    return r;
  }

  forget(pid: number): void {
    this.byPid.delete(pid);
  }
}
