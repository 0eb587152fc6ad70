/**
 * An observed HTTP transaction as an OpenTelemetry span, named and
 * attributed per the HTTP semantic conventions: one SERVER span per
 * request a traced process served, one CLIENT span per request it made,
 * from the first byte of the request to the last byte of the response.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import { hrTimeDuration } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import { RandomIdGenerator, type ReadableSpan } from '@opentelemetry/sdk-trace';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_FULL,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_USER_AGENT_ORIGINAL,
} from '@opentelemetry/semantic-conventions';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import type { Header } from '../../protocols/types.js';
import { VERSION } from '../version.js';
import { ATTR_HTTP_REQUEST_BODY_SIZE, ATTR_HTTP_RESPONSE_BODY_SIZE } from './semconv.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const SCOPE = { name: 'sonde', version: VERSION };
const ids = new RandomIdGenerator();

export interface SpanOptions {
  /** Record url.query (off by default: queries often carry secrets). */
  readonly urlQuery: boolean;
  readonly toHrTime: (kernelNs: number) => HrTime;
}

function header(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** Host header "name:port" or "[v6]:port" -> parts. */
export function splitHost(host: string): { name: string; port?: number } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host.trim());
  if (!m) return { name: host };
  const name = m[1]!.replace(/^\[|\]$/g, '');
  return m[2] === undefined ? { name } : { name, port: Number(m[2]) };
}

/** Path and query of a request target (origin-form, or absolute-form through a proxy). */
export function splitTarget(target: string): { path: string; query?: string } {
  let t = target;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
  if (scheme) t = t.slice(scheme[0].length) || '/';
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

export function buildHttpSpan(obs: ObservedTransaction, resource: Resource, opts: SpanOptions): ReadableSpan {
  const { tx, endpoints } = obs;
  const isServer = obs.role === 'server';
  const method = KNOWN_METHODS.has(tx.method) ? tx.method : '_OTHER';
  const { path, query } = splitTarget(tx.target);
  const host = header(tx.requestHeaders, 'host');
  const hostParts = host ? splitHost(host) : undefined;
  const userAgent = header(tx.requestHeaders, 'user-agent');

  // Addresses are unknown only when the connection's open record was lost.
  const known = endpoints.remote.address !== '';
  const attributes: Attributes = {
    [ATTR_HTTP_REQUEST_METHOD]: method,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: tx.status,
    [ATTR_NETWORK_PROTOCOL_VERSION]: tx.protocol.replace(/^HTTP\//, ''),
    [ATTR_HTTP_REQUEST_BODY_SIZE]: tx.requestBodySize,
    [ATTR_HTTP_RESPONSE_BODY_SIZE]: tx.responseBodySize,
  };
  if (known) {
    attributes[ATTR_NETWORK_PEER_ADDRESS] = endpoints.remote.address;
    attributes[ATTR_NETWORK_PEER_PORT] = endpoints.remote.port;
  }
  if (method === '_OTHER') attributes[ATTR_HTTP_REQUEST_METHOD_ORIGINAL] = tx.method;
  if (userAgent !== undefined) attributes[ATTR_USER_AGENT_ORIGINAL] = userAgent;

  if (isServer) {
    attributes[ATTR_URL_PATH] = path;
    attributes[ATTR_URL_SCHEME] = 'http';
    if (opts.urlQuery && query !== undefined) attributes[ATTR_URL_QUERY] = query;
    const serverAddress = hostParts?.name || endpoints.local.address;
    const serverPort = hostParts?.port ?? endpoints.local.port;
    if (serverAddress) attributes[ATTR_SERVER_ADDRESS] = serverAddress;
    if (serverPort) attributes[ATTR_SERVER_PORT] = serverPort;
    if (known) {
      attributes[ATTR_CLIENT_ADDRESS] = endpoints.remote.address;
      attributes[ATTR_CLIENT_PORT] = endpoints.remote.port;
    }
  } else {
    const serverName = hostParts?.name || endpoints.remote.address;
    const authority = host?.trim() || `${endpoints.remote.address.includes(':') ? `[${endpoints.remote.address}]` : endpoints.remote.address}:${endpoints.remote.port}`;
    attributes[ATTR_URL_FULL] = `http://${authority}${path}${opts.urlQuery && query !== undefined ? `?${query}` : ''}`;
    if (serverName) attributes[ATTR_SERVER_ADDRESS] = serverName;
    if (known) attributes[ATTR_SERVER_PORT] = endpoints.remote.port;
    else if (hostParts?.port) attributes[ATTR_SERVER_PORT] = hostParts.port;
  }

  const failed = isServer ? tx.status >= 500 : tx.status >= 400;
  if (failed) attributes[ATTR_ERROR_TYPE] = String(tx.status);

  const context: SpanContext = {
    traceId: ids.generateTraceId(),
    spanId: ids.generateSpanId(),
    traceFlags: TraceFlags.SAMPLED,
  };
  const startTime = opts.toHrTime(tx.requestStart);
  const endTime = opts.toHrTime(Math.max(tx.responseEnd, tx.requestStart));
  return {
    name: method === '_OTHER' ? 'HTTP' : method,
    kind: isServer ? SpanKind.SERVER : SpanKind.CLIENT,
    spanContext: () => context,
    parentSpanContext: undefined,
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status: failed ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.UNSET },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}
