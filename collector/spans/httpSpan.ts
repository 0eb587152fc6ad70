/**
 * An observed HTTP transaction as an OpenTelemetry span, named and
 * attributed per the HTTP semantic conventions: one SERVER span per
 * request a traced process served, one CLIENT span per request it made,
 * from the first byte of the request to the last byte of the response.
 */
import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type HrTime, type SpanContext, type SpanStatus } from '@opentelemetry/api';
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
import { SondeSpan } from './SondeSpan.js';

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

const OK: SpanStatus = { code: SpanStatusCode.UNSET };
const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

/**
 * The span of one observed transaction. Attributes are set in one fixed
 * order per kind, absent ones as undefined (which every exporter skips),
 * so all spans of a kind share one object shape and the encoder that walks
 * thousands of them a second stays fast.
 */
export function buildHttpSpan(obs: ObservedTransaction, resource: Resource, opts: SpanOptions): ReadableSpan {
  const { tx, endpoints } = obs;
  const isServer = obs.role === 'server';
  const method = KNOWN_METHODS.has(tx.method) ? tx.method : '_OTHER';
  const { path, query } = splitTarget(tx.target);
  const host = header(tx.requestHeaders, 'host');
  const hostParts = host ? splitHost(host) : undefined;
  // Addresses are unknown only when the connection's open record was lost.
  const peer = endpoints.remote.address !== '' ? endpoints.remote : undefined;
  const failed = isServer ? tx.status >= 500 : tx.status >= 400;
  const withQuery = opts.urlQuery && query !== undefined;

  let attributes: Attributes;
  if (isServer) {
    attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: method === '_OTHER' ? tx.method : undefined,
      [ATTR_URL_PATH]: path,
      [ATTR_URL_QUERY]: withQuery ? query : undefined,
      [ATTR_URL_SCHEME]: 'http',
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: tx.status,
      [ATTR_NETWORK_PROTOCOL_VERSION]: tx.protocol.replace(/^HTTP\//, ''),
      [ATTR_SERVER_ADDRESS]: hostParts?.name || endpoints.local.address || undefined,
      [ATTR_SERVER_PORT]: hostParts?.port ?? (endpoints.local.port || undefined),
      [ATTR_CLIENT_ADDRESS]: peer?.address,
      [ATTR_CLIENT_PORT]: peer?.port,
      [ATTR_NETWORK_PEER_ADDRESS]: peer?.address,
      [ATTR_NETWORK_PEER_PORT]: peer?.port,
      [ATTR_USER_AGENT_ORIGINAL]: header(tx.requestHeaders, 'user-agent'),
      [ATTR_HTTP_REQUEST_BODY_SIZE]: tx.requestBodySize,
      [ATTR_HTTP_RESPONSE_BODY_SIZE]: tx.responseBodySize,
      [ATTR_ERROR_TYPE]: failed ? String(tx.status) : undefined,
    };
  } else {
    const authority = host?.trim() || (peer ? `${peer.address.includes(':') ? `[${peer.address}]` : peer.address}:${peer.port}` : '');
    attributes = {
      [ATTR_HTTP_REQUEST_METHOD]: method,
      [ATTR_HTTP_REQUEST_METHOD_ORIGINAL]: method === '_OTHER' ? tx.method : undefined,
      [ATTR_URL_FULL]: `http://${authority}${path}${withQuery ? `?${query}` : ''}`,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: tx.status,
      [ATTR_NETWORK_PROTOCOL_VERSION]: tx.protocol.replace(/^HTTP\//, ''),
      [ATTR_SERVER_ADDRESS]: hostParts?.name || peer?.address,
      [ATTR_SERVER_PORT]: peer?.port ?? hostParts?.port,
      [ATTR_NETWORK_PEER_ADDRESS]: peer?.address,
      [ATTR_NETWORK_PEER_PORT]: peer?.port,
      [ATTR_USER_AGENT_ORIGINAL]: header(tx.requestHeaders, 'user-agent'),
      [ATTR_HTTP_REQUEST_BODY_SIZE]: tx.requestBodySize,
      [ATTR_HTTP_RESPONSE_BODY_SIZE]: tx.responseBodySize,
      [ATTR_ERROR_TYPE]: failed ? String(tx.status) : undefined,
    };
  }

  const context: SpanContext = { traceId: ids.generateTraceId(), spanId: ids.generateSpanId(), traceFlags: TraceFlags.SAMPLED };
  return new SondeSpan(
    method === '_OTHER' ? 'HTTP' : method,
    isServer ? SpanKind.SERVER : SpanKind.CLIENT,
    context,
    undefined,
    opts.toHrTime(tx.requestStart),
    opts.toHrTime(Math.max(tx.responseEnd, tx.requestStart)),
    failed ? ERROR : OK,
    attributes,
    resource,
    SCOPE,
  );
}
