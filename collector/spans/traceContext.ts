/**
 * Which trace a span is in, and its parent.
 *
 * A request that carries W3C `traceparent` (an HTTP/1 header, an HTTP/2
 * header, gRPC metadata alike) puts its span in that trace. A SERVER span
 * becomes the child of the remote parent named there. A CLIENT span takes
 * the trace id and, as its own span id, the parent id the request hands
 * downstream, so the server that receives it (traced by Sonde or by an
 * SDK) is its child. The parent's sampled flag is kept: a span of an
 * unsampled trace is not exported. Parsing is the OpenTelemetry SDK's own
 * (parseTraceParent, TraceState).
 *
 * Without one, a request whose both ends Sonde sees (PeerLinks) gives a
 * SERVER span that is the child of the CLIENT span.
 */
import { TraceFlags, type SpanContext, type TraceState as ApiTraceState } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import type { ObservedTransaction } from '../conn/ConnectionTracker.js';
import type { HttpTransaction } from '../../protocols/types.js';
import type { ClientIds, PeerLinks } from './PeerLinks.js';
import { hexOf, SPAN_ID_BYTES, TRACE_ID_BYTES, type SpanIdPool } from './SpanIds.js';

/** Where a span's ids are, and the trace it belongs to. */
export interface SpanIdentity {
  /** Its trace id then its span id, at `offset`. */
  readonly ids: Uint8Array;
  readonly offset: number;
  readonly parent: SpanContext | undefined;
  readonly traceFlags: number;
  readonly traceState: ApiTraceState | undefined;
}

/** The first value of a request header (names are lower case in transactions). */
function requestHeader(tx: HttpTransaction, name: string): string | undefined {
  for (const [n, v] of tx.requestHeaders) if (n === name) return v;
  return undefined;
}

/** Lower-case hex (as parseTraceParent accepts it) into `out` at `at`. */
function putHex(out: Uint8Array, at: number, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) out[at + i / 2] = Number.parseInt(hex.slice(i, i + 2), 16);
}

export function spanIdentity(obs: ObservedTransaction, pool: SpanIdPool, peers: PeerLinks | undefined): SpanIdentity {
  const { tx, role } = obs;
  const offset = pool.take();
  const ids = pool.bytes;
  const traceparent = requestHeader(tx, 'traceparent');
  const remote = traceparent === undefined ? null : parseTraceParent(traceparent);
  if (remote === null) {
    const linked = peers && obs.mirrored && obs.exchange !== undefined ? linkEnds(obs.exchange, tx, role, peers, ids, offset) : undefined;
    return { ids, offset, parent: linked, traceFlags: TraceFlags.SAMPLED, traceState: undefined };
  }
  const state = requestHeader(tx, 'tracestate');
  const traceState = state === undefined ? undefined : new TraceState(state);
  // This span's own slot in the pool: nothing else points at it.
  putHex(ids, offset, remote.traceId);
  if (role === 'client') {
    putHex(ids, offset + TRACE_ID_BYTES, remote.spanId);
    return { ids, offset, parent: undefined, traceFlags: remote.traceFlags, traceState };
  }
  return { ids, offset, parent: { ...remote, isRemote: true, traceState }, traceFlags: remote.traceFlags, traceState };
}

/**
 * Both ends of the request are traced: agree on the CLIENT span's ids
 * (writing them into this span's slot), and for a SERVER span return it
 * as the parent.
 */
function linkEnds(key: string, tx: HttpTransaction, role: 'client' | 'server', peers: PeerLinks, ids: Uint8Array, offset: number): SpanContext | undefined {
  const request = `${tx.method} ${tx.target}`;
  if (role === 'client') {
    const own: ClientIds = { traceId: hexOf(ids, offset, TRACE_ID_BYTES), spanId: hexOf(ids, offset + TRACE_ID_BYTES, SPAN_ID_BYTES) };
    const agreed = peers.meet(key, 'client', request, own);
    if (agreed !== undefined && agreed !== own) {
      putHex(ids, offset, agreed.traceId);
      putHex(ids, offset + TRACE_ID_BYTES, agreed.spanId);
    }
    return undefined;
  }
  const client = peers.meet(key, 'server', request, undefined);
  if (client === undefined) return undefined;
  putHex(ids, offset, client.traceId);
  return { traceId: client.traceId, spanId: client.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true };
}

export const sampled = (identity: { readonly traceFlags: number }): boolean => (identity.traceFlags & TraceFlags.SAMPLED) !== 0;
