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
import { TraceFlags, type SpanContext, type TraceState } from '@opentelemetry/api';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import { TRACE_ID_BYTES, type SpanIdPool } from './SpanIds.js';
import { resolve, type TraceGraph } from './TraceGraph.js';
import { putHex, remoteParent } from './w3c.js';

/** Where a span's ids are, and the trace it belongs to. */
export interface SpanIdentity {
  /** Its trace id then its span id, at `offset`. */
  readonly ids: Uint8Array;
  readonly offset: number;
  readonly parent: SpanContext | undefined;
  readonly traceFlags: number;
  readonly traceState: TraceState | undefined;
  /** The trace began upstream: traceFlags are what the caller's traceparent said. */
  readonly fromTraceparent: boolean;
}

/**
 * The ids of a span being built: from its placement in `graph` (made when
 * its request started), else from its own request's traceparent, else new.
 */
export function spanIdentity(obs: ObservedTransaction, pool: SpanIdPool, graph: TraceGraph | undefined): SpanIdentity {
  const placed = graph?.take(obs.tx.start, obs.exchange);
  if (placed !== undefined) {
    const r = resolve(placed);
    return { ids: placed.ids, offset: placed.offset, parent: r.parent, traceFlags: r.traceFlags, traceState: r.traceState, fromTraceparent: r.fromTraceparent };
  }
  const offset = pool.take();
  const ids = pool.bytes;
  const remote = remoteParent(obs.tx.requestHeaders);
  if (remote === null) return { ids, offset, parent: undefined, traceFlags: TraceFlags.SAMPLED, traceState: undefined, fromTraceparent: false };
  // This span's own slot in the pool: nothing else points at it.
  putHex(ids, offset, remote.traceId);
  if (obs.role === 'client') {
    putHex(ids, offset + TRACE_ID_BYTES, remote.spanId);
    return { ids, offset, parent: undefined, traceFlags: remote.traceFlags, traceState: remote.traceState, fromTraceparent: true };
  }
  return { ids, offset, parent: { ...remote, isRemote: true }, traceFlags: remote.traceFlags, traceState: remote.traceState, fromTraceparent: true };
}

export const sampled = (identity: { readonly traceFlags: number }): boolean => (identity.traceFlags & TraceFlags.SAMPLED) !== 0;
