/**
 * W3C Trace Context in requests, and a span's ids. A request that carries
 * `traceparent` (an HTTP/1 header, an HTTP/2 header, gRPC metadata alike)
 * puts its span in that trace: a SERVER span is the child of the remote
 * parent named there; a CLIENT span takes the trace id and, as its own
 * span id, the parent id the request hands downstream, so the server that
 * receives it (traced by Sonde or by an SDK) is its child. The parent's
 * sampled flag is kept: a span of an unsampled trace is not exported.
 * Parsing is the OpenTelemetry SDK's own (parseTraceParent, TraceState).
 * Everything else about a span's place is TraceGraph's.
 */
import { TraceFlags, type SpanContext, type TraceState as ApiTraceState } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import { requestKey } from '../conn/exchanges.js';
import type { Header } from '../../protocols/types.js';
import { TRACE_ID_BYTES, type SpanIdPool } from './SpanIds.js';
import { resolve, type TraceGraph } from './TraceGraph.js';

/** A parent in another process, as a traceparent named it. */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState: ApiTraceState | undefined;
}

/** Where a span's ids are, and the trace it belongs to. */
export interface SpanIdentity {
  /** Its trace id then its span id, at `offset`. */
  readonly ids: Uint8Array;
  readonly offset: number;
  readonly parent: SpanContext | undefined;
  readonly traceFlags: number;
  readonly traceState: ApiTraceState | undefined;
}

/** The first value of a header (names are lower case in transactions). */
function headerOf(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** The parent a request's traceparent names; null when it has none, or an invalid one. */
export function remoteParent(headers: readonly Header[]): RemoteParent | null {
  const value = headerOf(headers, 'traceparent');
  const ctx = value === undefined ? null : parseTraceParent(value);
  if (ctx === null) return null;
  const state = headerOf(headers, 'tracestate');
  return { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags, traceState: state === undefined ? undefined : new TraceState(state) };
}

/** Lower-case hex into `out` at `at`. */
function putHex(out: Uint8Array, at: number, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) out[at + i / 2] = Number.parseInt(hex.slice(i, i + 2), 16);
}

/**
 * The ids of a span being built: from its placement in `graph` (made when
 * its request started), else from its own request's traceparent, else new.
 */
export function spanIdentity(obs: ObservedTransaction, pool: SpanIdPool, graph: TraceGraph | undefined): SpanIdentity {
  const offset = pool.take();
  const ids = pool.bytes;
  const placed = graph?.take(requestKey(obs.sock, obs.tx.requestStart), obs.exchange);
  if (placed !== undefined) {
    const r = resolve(placed);
    putHex(ids, offset, r.traceId);
    putHex(ids, offset + TRACE_ID_BYTES, r.spanId);
    return { ids, offset, parent: r.parent, traceFlags: r.traceFlags, traceState: r.traceState };
  }
  const remote = remoteParent(obs.tx.requestHeaders);
  if (remote === null) return { ids, offset, parent: undefined, traceFlags: TraceFlags.SAMPLED, traceState: undefined };
  // This span's own slot in the pool: nothing else points at it.
  putHex(ids, offset, remote.traceId);
  if (obs.role === 'client') {
    putHex(ids, offset + TRACE_ID_BYTES, remote.spanId);
    return { ids, offset, parent: undefined, traceFlags: remote.traceFlags, traceState: remote.traceState };
  }
  return { ids, offset, parent: { ...remote, isRemote: true }, traceFlags: remote.traceFlags, traceState: remote.traceState };
}

export const sampled = (identity: { readonly traceFlags: number }): boolean => (identity.traceFlags & TraceFlags.SAMPLED) !== 0;
