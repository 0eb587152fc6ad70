/**
 * An observed HTTP transaction as an OpenTelemetry span, named and
 * attributed per the HTTP semantic conventions: one SERVER span per
 * request a traced process served, one CLIENT span per request it made,
 * from the first byte of the request to the last byte of the response.
 */
import { SpanKind, SpanStatusCode, type AttributeValue, type HrTime, type SpanStatus } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import {
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
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
import type { Header, HttpTransaction } from '../../protocols/types.js';
import type { Endpoint } from '../conn/endpoints.js';
import type { Route, RouteResolver } from '../routes/RouteResolver.js';
import { VERSION } from '../version.js';
import { ATTR_HTTP_REQUEST_BODY_SIZE, ATTR_HTTP_RESPONSE_BODY_SIZE, ATTR_SONDE_UNRECOVERED } from './semconv.js';
import { NEVER_RECORDED_HEADERS, redactQuery } from './redact.js';
import { PARENT_BASED_ALWAYS_ON, type Sampler } from './sampler.js';
import { SondeSpan } from './SondeSpan.js';
import type { TraceGraph } from './TraceGraph.js';
import { SpanIdPool } from './SpanIds.js';
import { spanIdentity } from './traceContext.js';

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);
const SCOPE = { name: 'sonde', version: VERSION };
export const ids = new SpanIdPool();

export interface SpanOptions {
  /** Record url.query (off by default: queries often carry secrets). */
  readonly urlQuery: boolean;
  readonly toHrTime: (kernelNs: number) => HrTime;
  /** Where each span belongs in a trace (TraceGraph); none: from its own request's traceparent only. */
  readonly graph?: TraceGraph;
  /** http.route of SERVER spans, by process (a selector may bring its own patterns); none: no route. */
  readonly routes?: (pid: number) => RouteResolver;
  /** Head sampling, by process; none: parent-based, always on. */
  readonly sampler?: (pid: number) => Sampler;
  /** Headers recorded as attributes (attributes.http_headers); none: no header values but the user agent. */
  readonly headers?: HeaderCapture;
}

/** Request and response headers to record, and the attribute keys of spans that carry them. */
export interface HeaderCapture {
  readonly request: readonly string[];
  readonly response: readonly string[];
  readonly serverKeys: readonly string[];
  readonly clientKeys: readonly string[];
}

/** http.request.header.<name> and http.response.header.<name>, as the semantic conventions name them. */
export function headerCapture(request: readonly string[], response: readonly string[]): HeaderCapture | undefined {
  if (request.length === 0 && response.length === 0) return undefined;
  const req = request.map((h) => h.toLowerCase()).filter((h) => !NEVER_RECORDED_HEADERS.has(h));
  const res = response.map((h) => h.toLowerCase()).filter((h) => !NEVER_RECORDED_HEADERS.has(h));
  const extra = [...req.map((h) => `http.request.header.${h}`), ...res.map((h) => `http.response.header.${h}`)];
  return { request: req, response: res, serverKeys: [...SERVER_KEYS, ...extra], clientKeys: [...CLIENT_KEYS, ...extra] };
}

function headerValues(headers: readonly Header[], name: string): string[] | undefined {
  let out: string[] | undefined;
  for (const [n, v] of headers) if (n === name) (out ??= []).push(v);
  return out;
}

function withHeaders(values: Values, tx: HttpTransaction, c: HeaderCapture): Values {
  for (const h of c.request) values.push(headerValues(tx.requestHeaders, h));
  for (const h of c.response) values.push(headerValues(tx.responseHeaders, h));
  return values;
}

export function header(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** A Host header's parts. */
export interface HostParts {
  readonly name: string;
  readonly port?: number;
}

/** The last host split, and its parts: requests in a row mostly name the same host. */
let lastHost = '';
let lastParts: HostParts = { name: '' };

/** Host header "name:port" or "[v6]:port" -> parts; a malformed one is all name. */
export function splitHost(host: string): HostParts {
  if (host !== lastHost) {
    lastParts = splitHostOnce(host);
    lastHost = host;
  }
  return lastParts;
}

function splitHostOnce(host: string): HostParts {
  const h = host.trim();
  let name: string;
  let nameEnd: number;
  if (h.charCodeAt(0) === 0x5b /* [ */) {
    nameEnd = h.indexOf(']') + 1;
    if (nameEnd === 0) return { name: host };
    name = h.slice(1, nameEnd - 1);
  } else {
    nameEnd = h.indexOf(':');
    if (nameEnd < 0) return { name: h };
    name = h.slice(0, nameEnd);
  }
  if (nameEnd === h.length) return { name };
  const port = h.charCodeAt(nameEnd) === 0x3a /* : */ ? parsePort(h, nameEnd + 1) : undefined;
  return port === undefined ? { name: host } : { name, port };
}

function parsePort(s: string, from: number): number | undefined {
  if (from === s.length || s.length - from > 5) return undefined;
  let n = 0;
  for (let i = from; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    n = n * 10 + d;
  }
  return n <= 65535 ? n : undefined;
}

/** Path and query of a request target (origin-form, or absolute-form through a proxy). */
export function splitTarget(target: string): { path: string; query?: string } {
  let t = target;
  if (t.charCodeAt(0) !== 0x2f /* / */) {
    const scheme = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i.exec(t);
    if (scheme) t = t.slice(scheme[0].length) || '/';
  }
  const hash = t.indexOf('#');
  if (hash >= 0) t = t.slice(0, hash);
  const q = t.indexOf('?');
  return q < 0 ? { path: t } : { path: t.slice(0, q), query: t.slice(q + 1) };
}

/** "HTTP/1.1" -> "1.1", "HTTP/2" -> "2", as network.protocol.version wants it. */
export const protocolVersion = (p: string): string => (p.startsWith('HTTP/') ? p.slice(5) : p);

const OK: SpanStatus = { code: SpanStatusCode.UNSET };
const ERROR: SpanStatus = { code: SpanStatusCode.ERROR };

/** A SERVER span's attributes, in the order serverValues gives them. */
const SERVER_KEYS = [
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_URL_PATH,
  ATTR_URL_QUERY,
  ATTR_URL_SCHEME,
  ATTR_HTTP_ROUTE,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_CLIENT_ADDRESS,
  ATTR_CLIENT_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_USER_AGENT_ORIGINAL,
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_RESPONSE_BODY_SIZE,
  ATTR_ERROR_TYPE,
  ATTR_SONDE_UNRECOVERED,
];

/** A CLIENT span's attributes, in the order clientValues gives them. */
const CLIENT_KEYS = [
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_REQUEST_METHOD_ORIGINAL,
  ATTR_URL_FULL,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_USER_AGENT_ORIGINAL,
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_RESPONSE_BODY_SIZE,
  ATTR_ERROR_TYPE,
  ATTR_SONDE_UNRECOVERED,
];

type Values = Array<AttributeValue | undefined>;

/** What both kinds of span read from a transaction. */
interface Facts {
  readonly tx: HttpTransaction;
  /** Undefined when not recovered (HTTP/2 joined midway). */
  readonly method: string | undefined;
  readonly path: string | undefined;
  /** The query, if it is to be recorded. */
  readonly query: string | undefined;
  readonly host: HostParts | undefined;
  /** The remote end, unless the connection's open record was lost. */
  readonly peer: Endpoint | undefined;
  readonly errorType: string | undefined;
  readonly scheme: 'http' | 'https';
  readonly route: Route | undefined;
}

function serverValues(f: Facts, local: Endpoint): Values {
  const { tx, peer } = f;
  return [
    f.method,
    f.method === '_OTHER' ? tx.method : undefined,
    f.path,
    f.query,
    f.scheme,
    f.route?.route,
    tx.status || undefined,
    protocolVersion(tx.protocol),
    f.host?.name || local.address || undefined,
    f.host?.port ?? (local.port || undefined),
    peer?.address,
    peer?.port,
    peer?.address,
    peer?.port,
    header(tx.requestHeaders, 'user-agent'),
    tx.requestBodySize,
    tx.responseBodySize,
    f.errorType,
    unrecoveredAttr(tx),
  ];
}

function clientValues(f: Facts, authority: string): Values {
  const { tx, peer } = f;
  return [
    f.method,
    f.method === '_OTHER' ? tx.method : undefined,
    f.path === undefined ? undefined : `${f.scheme}://${authority}${f.path}${f.query !== undefined ? `?${f.query}` : ''}`,
    tx.status || undefined,
    protocolVersion(tx.protocol),
    f.host?.name || peer?.address,
    peer?.port ?? f.host?.port,
    peer?.address,
    peer?.port,
    header(tx.requestHeaders, 'user-agent'),
    tx.requestBodySize,
    tx.responseBodySize,
    f.errorType,
    unrecoveredAttr(tx),
  ];
}

/** "host:port" of an address, for a url.full when the request had no Host. */
export function authorityOf(peer: Endpoint | undefined): string {
  if (!peer) return '';
  return `${peer.address.includes(':') ? `[${peer.address}]` : peer.address}:${peer.port}`;
}

/** sonde.unrecovered: a mutable copy, as attribute values are typed. */
export function unrecoveredAttr(tx: HttpTransaction): string[] | undefined {
  return tx.unrecovered ? [...tx.unrecovered] : undefined;
}

const serviceOf = (resource: Resource): string => String(resource.attributes['service.name'] ?? '');

/** Host (HTTP/1) or :authority (HTTP/2) of a request. */
export function requestAuthority(tx: HttpTransaction): string | undefined {
  return header(tx.requestHeaders, 'host') ?? header(tx.requestHeaders, ':authority');
}

/** The span of one observed transaction. */
export function buildHttpSpan(obs: ObservedTransaction, resource: Resource, opts: SpanOptions): SondeSpan {
  const { tx, endpoints } = obs;
  const isServer = obs.role === 'server';
  const lost = tx.unrecovered;
  const method = lost?.includes('method') ? undefined : KNOWN_METHODS.has(tx.method) ? tx.method : '_OTHER';
  const target = lost?.includes('path') ? undefined : splitTarget(tx.target);
  const path = target?.path;
  const query = target?.query;
  const host = requestAuthority(tx);
  const peer = endpoints.remote.address !== '' ? endpoints.remote : undefined;
  // A stream reset before its response failed whichever side looks at it.
  const reset = tx.status === 0 && tx.resetCode !== undefined;
  const failed = reset || (isServer ? tx.status >= 500 : tx.status >= 400);
  const facts: Facts = {
    tx,
    method,
    path,
    query: opts.urlQuery && query !== undefined ? redactQuery(query) : undefined,
    host: host ? splitHost(host) : undefined,
    peer,
    errorType: failed ? (reset ? 'stream_reset' : String(tx.status)) : undefined,
    scheme: obs.tls ? 'https' : 'http',
    route: isServer && path !== undefined ? opts.routes?.(obs.pid).resolve(serviceOf(resource), path) : undefined,
  };
  const verb = method === '_OTHER' || method === undefined ? 'HTTP' : method;
  const values = isServer ? serverValues(facts, endpoints.local) : clientValues(facts, host?.trim() || authorityOf(peer));
  const h = opts.headers;
  return finishedSpan(
    obs,
    resource,
    opts,
    // "{method} {http.route}" when the route is one the user configured; the method alone otherwise.
    facts.route?.configured ? `${verb} ${facts.route.route}` : verb,
    failed,
    h ? (isServer ? h.serverKeys : h.clientKeys) : isServer ? SERVER_KEYS : CLIENT_KEYS,
    h ? withHeaders(values, tx, h) : values,
  );
}

/** The span of a transaction: its place in a trace, its kind, and its times, from the first request byte to the last response byte. */
export function finishedSpan(
  obs: ObservedTransaction,
  resource: Resource,
  opts: SpanOptions,
  name: string,
  failed: boolean,
  keys: readonly string[],
  values: ReadonlyArray<AttributeValue | undefined>,
): SondeSpan {
  const { tx } = obs;
  const id = spanIdentity(obs, ids, opts.graph);
  const sampler = opts.sampler?.(obs.pid) ?? PARENT_BASED_ALWAYS_ON;
  return new SondeSpan(
    name,
    obs.role === 'server' ? SpanKind.SERVER : SpanKind.CLIENT,
    id.ids,
    id.offset,
    id.parent,
    opts.toHrTime(tx.requestStart),
    opts.toHrTime(Math.max(tx.responseEnd, tx.requestStart)),
    failed ? ERROR : OK,
    keys,
    values,
    resource,
    SCOPE,
    sampler.flags(id.ids, id.offset, id.fromTraceparent ? id.traceFlags : undefined),
    id.traceState,
  );
}
