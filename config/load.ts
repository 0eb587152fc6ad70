/**
 * One configuration from four sources, each overriding the one before:
 * defaults < YAML file (--config / OTEL_EBPF_CONFIG_PATH) < environment <
 * CLI flags. Every value remembers where it came from, and every mistake
 * is reported with its key path, the value, what was expected and the
 * source, so it can be fixed where it was made.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { configSchema, type Config } from './schema.js';
import { closest, knownKeys } from './suggest.js';

export type Raw = { [key: string]: unknown };

export interface ConfigIssue {
  readonly key: string;
  readonly value: unknown;
  readonly message: string;
  readonly source: string;
}

export interface LoadedConfig {
  readonly config: Config;
  /** Key path ("ebpf.capture_size") -> where its value came from. */
  readonly sources: ReadonlyMap<string, string>;
}

/** Flags as commander parses them (strings), by long option name. */
export type CliFlags = Readonly<Record<string, string | boolean | undefined>>;

type Parse = (text: string) => unknown;
const asString: Parse = (s) => s;
/** A number, or the text itself (so an error shows what was written, not NaN). */
const asNumber: Parse = (s) => {
  const n = Number(s);
  return s.trim() === '' || Number.isNaN(n) ? s : n;
};
const asBool: Parse = (s) => (/^(true|1|yes)$/i.test(s) ? true : /^(false|0|no)$/i.test(s) ? false : s);
const asPids: Parse = (s) => s.split(',').map((p) => asNumber(p));
/** OTEL_EXPORTER_OTLP_HEADERS: "k=v,k2=v2", values percent-encoded (OTel spec). */
const asHeaders: Parse = (s) => {
  const out: Record<string, string> = {};
  for (const pair of s.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    out[decodeURIComponent(pair.slice(0, eq).trim())] = decodeURIComponent(pair.slice(eq + 1).trim());
  }
  return out;
};
/** OBI writes durations like "200ms" or "5s"; plain numbers are milliseconds. */
const asMillis: Parse = (s) => {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(s);
  if (!m) return s;
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60000 : n;
};

interface Binding {
  readonly path: readonly string[];
  readonly parse: Parse;
  /** Further keys the same value goes to (the generic OTLP variables set traces and metrics). */
  readonly also?: ReadonlyArray<readonly string[]>;
}

/** Environment variables, by the names OpenTelemetry and OBI users know. */
export const ENV_BINDINGS: Readonly<Record<string, Binding>> = {
  OTEL_EBPF_LOG_LEVEL: { path: ['log_level'], parse: (s) => s.toLowerCase() },
  OTEL_EBPF_TRACE_PRINTER: { path: ['trace_printer'], parse: (s) => s.toLowerCase() },
  OTEL_EXPORTER_OTLP_ENDPOINT: { path: ['otel_traces_export', 'endpoint'], parse: asString, also: [['otel_metrics_export', 'endpoint']] },
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: { path: ['otel_traces_export', 'traces_endpoint'], parse: asString },
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: { path: ['otel_metrics_export', 'metrics_endpoint'], parse: asString },
  OTEL_EXPORTER_OTLP_PROTOCOL: { path: ['otel_traces_export', 'protocol'], parse: asString, also: [['otel_metrics_export', 'protocol']] },
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: { path: ['otel_traces_export', 'protocol'], parse: asString },
  OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: { path: ['otel_metrics_export', 'protocol'], parse: asString },
  OTEL_EXPORTER_OTLP_HEADERS: { path: ['otel_traces_export', 'headers'], parse: asHeaders, also: [['otel_metrics_export', 'headers']] },
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: { path: ['otel_traces_export', 'headers'], parse: asHeaders },
  OTEL_EXPORTER_OTLP_METRICS_HEADERS: { path: ['otel_metrics_export', 'headers'], parse: asHeaders },
  OTEL_METRIC_EXPORT_INTERVAL: { path: ['otel_metrics_export', 'interval'], parse: asMillis },
  OTEL_METRIC_EXPORT_TIMEOUT: { path: ['otel_metrics_export', 'export_timeout'], parse: asMillis },
  OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: { path: ['otel_metrics_export', 'histogram_aggregation'], parse: (s) => s.toLowerCase() },
  OTEL_EBPF_PROMETHEUS_PORT: { path: ['prometheus_export', 'port'], parse: asNumber },
  OTEL_EBPF_PROMETHEUS_PATH: { path: ['prometheus_export', 'path'], parse: asString },
  OTEL_BSP_SCHEDULE_DELAY: { path: ['otel_traces_export', 'schedule_delay'], parse: asMillis },
  OTEL_BSP_MAX_QUEUE_SIZE: { path: ['otel_traces_export', 'max_queue_size'], parse: asNumber },
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: { path: ['otel_traces_export', 'max_export_batch_size'], parse: asNumber },
  OTEL_BSP_EXPORT_TIMEOUT: { path: ['otel_traces_export', 'export_timeout'], parse: asMillis },
  OTEL_TRACES_SAMPLER: { path: ['otel_traces_export', 'sampler', 'name'], parse: (s) => s.trim().toLowerCase() },
  OTEL_TRACES_SAMPLER_ARG: { path: ['otel_traces_export', 'sampler', 'arg'], parse: asNumber },
  SONDE_URL_QUERY: { path: ['attributes', 'url_query'], parse: asBool },
  SONDE_CAPTURE_MODE: { path: ['ebpf', 'capture_mode'], parse: asString },
  SONDE_SOCKET_LOOKUP: { path: ['ebpf', 'socket_lookup'], parse: asString },
  SONDE_CAPTURE_SIZE: { path: ['ebpf', 'capture_size'], parse: asNumber },
  SONDE_RING_BUFFER_SIZE: { path: ['ebpf', 'ring_buffer_size'], parse: asNumber },
  SONDE_DRAIN_INTERVAL: { path: ['ebpf', 'drain_interval'], parse: asMillis },
  SONDE_NODE_ASYNC_CONTEXT: { path: ['ebpf', 'node_async_context'], parse: asBool },
  OTEL_EBPF_BPF_CONTEXT_PROPAGATION: { path: ['ebpf', 'context_propagation'], parse: (s) => s.trim().toLowerCase() },
};

/** The single-selector shortcuts; together they form one selector (all must match). */
export const ENV_SELECTOR: Readonly<Record<string, Binding>> = {
  OTEL_EBPF_OPEN_PORT: { path: ['open_ports'], parse: asString },
  OTEL_EBPF_AUTO_TARGET_EXE: { path: ['exe_path'], parse: asString },
  OTEL_EBPF_TARGET_PID: { path: ['target_pids'], parse: asPids },
};

/** CLI flags (long names). */
export const FLAG_BINDINGS: Readonly<Record<string, Binding>> = {
  'log-level': ENV_BINDINGS.OTEL_EBPF_LOG_LEVEL!,
  print: ENV_BINDINGS.OTEL_EBPF_TRACE_PRINTER!,
  'otlp-endpoint': ENV_BINDINGS.OTEL_EXPORTER_OTLP_ENDPOINT!,
  'otlp-protocol': ENV_BINDINGS.OTEL_EXPORTER_OTLP_PROTOCOL!,
  'prometheus-port': ENV_BINDINGS.OTEL_EBPF_PROMETHEUS_PORT!,
  'url-query': ENV_BINDINGS.SONDE_URL_QUERY!,
  'capture-mode': ENV_BINDINGS.SONDE_CAPTURE_MODE!,
  'socket-lookup': ENV_BINDINGS.SONDE_SOCKET_LOOKUP!,
  'capture-size': ENV_BINDINGS.SONDE_CAPTURE_SIZE!,
};

export const FLAG_SELECTOR: Readonly<Record<string, Binding>> = {
  'open-port': ENV_SELECTOR.OTEL_EBPF_OPEN_PORT!,
  exe: ENV_SELECTOR.OTEL_EBPF_AUTO_TARGET_EXE!,
  pid: ENV_SELECTOR.OTEL_EBPF_TARGET_PID!,
};

function setPath(target: Raw, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Raw;
  }
  node[path[path.length - 1]!] = value;
}

function getPath(target: unknown, path: ReadonlyArray<string | number>): unknown {
  let node = target;
  for (const key of path) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** Record the source of every leaf under `value` at `path`. */
function noteSources(sources: Map<string, string>, path: string[], value: unknown, source: string): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) noteSources(sources, [...path, k], v, source);
  } else {
    sources.set(path.join('.'), source);
  }
}

function mergeInto(target: Raw, layer: Raw): void {
  for (const [k, v] of Object.entries(layer)) {
    const t = target[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof t === 'object' && t !== null && !Array.isArray(t)) {
      mergeInto(t as Raw, v as Raw);
    } else {
      target[k] = v;
    }
  }
}

function readYaml(path: string): { doc: Raw } | { issue: ConfigIssue } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    return { issue: { key: '(file)', value: path, message: `cannot read: ${(e as Error).message}`, source: `file ${path}` } };
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc === null || doc === undefined) return { doc: {} };
    if (typeof doc !== 'object' || Array.isArray(doc)) {
      return { issue: { key: '(file)', value: path, message: 'expected a mapping at the top level', source: `file ${path}` } };
    }
    return { doc: doc as Raw };
  } catch (e) {
    return { issue: { key: '(file)', value: path, message: `not valid YAML: ${(e as Error).message}`, source: `file ${path}` } };
  }
}

export function loadConfig(env: NodeJS.ProcessEnv, flags: CliFlags): LoadedConfig | ConfigIssue[] {
  const raw: Raw = {};
  const sources = new Map<string, string>();

  const file = (flags.config as string | undefined) ?? env.OTEL_EBPF_CONFIG_PATH;
  if (file) {
    const read = readYaml(file);
    if ('issue' in read) return [read.issue];
    mergeInto(raw, read.doc);
    noteSources(sources, [], read.doc, `file ${file}`);
  }

  const selector: Raw = {};
  const selectorSources = new Map<string, string>();
  const apply = (bindings: Readonly<Record<string, Binding>>, values: Record<string, unknown>, label: (n: string) => string, into: Raw, srcs: Map<string, string>): void => {
    for (const [name, b] of Object.entries(bindings)) {
      const v = values[name];
      if (v === undefined || v === false) continue;
      const parsed = typeof v === 'string' ? b.parse(v) : v;
      for (const path of [b.path, ...(b.also ?? [])]) {
        setPath(into, path, parsed);
        noteSources(srcs, [...path], parsed, label(name));
      }
    }
  };
  apply(ENV_BINDINGS, env, (n) => `env ${n}`, raw, sources);
  apply(ENV_SELECTOR, env, (n) => `env ${n}`, selector, selectorSources);
  apply(FLAG_BINDINGS, flags, (n) => `flag --${n}`, raw, sources);
  apply(FLAG_SELECTOR, flags, (n) => `flag --${n}`, selector, selectorSources);
  if (Object.keys(selector).length > 0) {
    setPath(raw, ['discovery', 'instrument'], [selector]);
    for (const [k, v] of selectorSources) sources.set(`discovery.instrument.0.${k}`, v);
  }

  const result = configSchema.safeParse(raw);
  if (!result.success) {
    return result.error.issues.map((issue) => {
      const path = issue.path.map(String);
      const keyPath = issue.code === 'unrecognized_keys' ? [...path, issue.keys[0] ?? ''] : path;
      const key = keyPath.join('.');
      let source = sources.get(key);
      for (let i = keyPath.length; source === undefined && i > 0; i--) {
        source = [...sources].find(([k]) => k.startsWith(keyPath.slice(0, i).join('.')))?.[1];
      }
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const suggestion = unknown === undefined ? undefined : closest(unknown, knownKeys(path));
      return {
        key: key || '(top level)',
        value: getPath(raw, keyPath),
        message: suggestion ? `${issue.message}; did you mean "${suggestion}"?` : issue.message,
        source: source ?? 'default',
      };
    });
  }
  return { config: result.data, sources };
}

export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => `config error: ${i.key}: ${i.message} (got ${JSON.stringify(i.value) ?? 'nothing'}, from ${i.source})`)
    .join('\n');
}
