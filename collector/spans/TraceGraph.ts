/**
 * Where each span belongs in a trace, decided when its request starts, in
 * the order requests really happened, and read when the span is built
 * (after its answer). Three ties, in this order of trust:
 *
 *  1. the request carries W3C `traceparent` (w3c.ts);
 *  2. both ends of its connection are traced processes on this host: the
 *     SERVER span is the CLIENT span's child (the request is named alike at
 *     both ends, ConnectionTracker `exchange`);
 *  3. a CLIENT request sent by the thread that is serving a request, a
 *     thread that serves only that connection: the CLIENT span is that
 *     SERVER span's child (ConnectionTracker `servedBy`, ThreadTies).
 *
 * Anything else is a root: never a guessed parent. A placement's trace is
 * its root's, read when the span is built, so an end seen a moment late
 * (the server's read can overtake the client's send record) still joins.
 */
import { TraceFlags, type SpanContext, type TraceState } from '@opentelemetry/api';
import type { RequestStart } from '../../protocols/types.js';
import { hexOf, SPAN_ID_BYTES, TRACE_ID_BYTES, type SpanIdPool } from './SpanIds.js';
import { putHex, remoteParent, type RemoteParent } from './w3c.js';

/**
 * One span's place: the pool slot that will be its ids (its span id fixed
 * now, its trace id written when it is built), and what it hangs from.
 */
export class Placement {
  constructor(
    readonly ids: Uint8Array,
    readonly offset: number,
    /** A span of this host, a remote parent, or nothing (a root). */
    public up: Placement | RemoteParent | null,
    /** A root's trace flags and state (a root's trace id is in its slot). */
    readonly flags: number,
    readonly state: TraceState | undefined,
    /** The request, as its two ends must agree on it. */
    readonly request: string,
    /** Kernel ns its request started. */
    readonly at: number,
  ) {}

  /** Made by a server end for a client end not seen yet: no span, unless that client takes it over. */
  awaited = false;
  /** Its flags came with the request's traceparent (a root's: the trace began upstream). */
  fromTraceparent = false;

  /** Is `other` (the other end's view) plausibly the same request: same text, close in time? */
  matches(request: string, at: number): boolean {
    return request === this.request && Math.abs(at - this.at) < SAME_REQUEST_NS;
  }

  get spanIdHex(): string {
    return hexOf(this.ids, this.offset + TRACE_ID_BYTES, SPAN_ID_BYTES);
  }
}

/** Both ends of one request start within this of each other (a stale key from an old connection does not). */
const SAME_REQUEST_NS = 10e9;

/** What a built span takes from its placement: its ids are in the placement's slot. */
export interface Resolved {
  readonly parent: SpanContext | undefined;
  readonly traceFlags: number;
  readonly traceState: TraceState | undefined;
  /** The trace began upstream: traceFlags are the caller's decision. */
  readonly fromTraceparent: boolean;
}

/** How far up a chain is followed: deeper means a loop or a runaway, and is cut. */
const MAX_DEPTH = 64;

export interface TraceGraphStats {
  /** Placements dropped before their span was built (request never answered, or evicted). */
  unmet: number;
  /** Both ends of a request named alike that disagreed on what it was: left apart. */
  mismatched: number;
}

export class TraceGraph {
  /** By the request as its parser reported it (the same object its transaction carries). */
  private readonly placements = new Map<RequestStart, Placement>();
  /** The CLIENT end of each exchange seen on this host, by exchange. */
  private readonly clients = new Map<string, Placement>();
  readonly stats: TraceGraphStats = { unmet: 0, mismatched: 0 };

  constructor(
    private readonly pool: SpanIdPool,
    private readonly max = 65536,
  ) {}

  get size(): number {
    return this.placements.size;
  }

  /**
   * A SERVER request started; `exchange` is set when its client end is
   * traced too; `tieable` when calls its thread makes may hang from it. A
   * request nothing can tie gets no placement: its span is a root, made
   * when it is built.
   */
  serverStarted(req: RequestStart, exchange: string | undefined, tieable: boolean): void {
    const remote = remoteParent(req.requestHeaders);
    if (remote === null && exchange === undefined && !tieable) return;
    const request = describe(req);
    const p = this.fresh(remote, request, req.requestStart);
    if (remote !== null) putHex(p.ids, p.offset, remote.traceId);
    else if (exchange !== undefined) p.up = this.clientEnd(exchange, request, req.requestStart);
    this.remember(this.placements, req, p);
  }

  /**
   * A CLIENT request started. `exchange`: its server end is traced too.
   * `servedBy`: the request its thread is serving.
   */
  clientStarted(req: RequestStart, exchange: string | undefined, servedBy: RequestStart | undefined): void {
    const request = describe(req);
    const sent = remoteParent(req.requestHeaders);
    // A proxy passing on the traceparent it was sent names its caller's span, not one of its own: this
    // span is then its SERVER span's child, with an id of its own (taking the header's would make two
    // spans of one id).
    const remote = sent !== null && servedBy !== undefined && sameSpan(sent, remoteParent(servedBy.requestHeaders)) ? null : sent;
    // A request a proxy forwards (ProxyTies) had no reason for a placement until now: it is a root, placed now.
    const serving = servedBy === undefined ? undefined : (this.placements.get(servedBy) ?? this.adopt(servedBy));
    let p: Placement;
    if (remote !== null) {
      // Its own id is the one it hands downstream; its parent is the caller's own span, unknown here.
      p = new Placement(new Uint8Array(TRACE_ID_BYTES + SPAN_ID_BYTES), 0, null, remote.traceFlags, remote.traceState, request, req.requestStart);
      p.fromTraceparent = true;
      putHex(p.ids, 0, remote.traceId);
      putHex(p.ids, TRACE_ID_BYTES, remote.spanId);
    } else {
      const early = exchange === undefined ? undefined : this.clients.get(exchange);
      if (early !== undefined && early.matches(request, req.requestStart)) {
        // The server end came first and made this placement: it is ours now.
        early.up = serving ?? null;
        early.awaited = false;
        p = early;
      } else {
        p = this.fresh(null, request, req.requestStart);
        p.up = serving ?? null;
        if (exchange !== undefined) this.remember(this.clients, exchange, p);
      }
    }
    this.remember(this.placements, req, p);
  }

  /** The placement of a span being built, gone from here once taken. */
  take(req: RequestStart | undefined, exchange: string | undefined): Placement | undefined {
    const p = req === undefined ? undefined : this.placements.get(req);
    if (p === undefined) return undefined;
    this.placements.delete(req!);
    if (exchange !== undefined && this.clients.get(exchange) === p) this.clients.delete(exchange);
    return p;
  }

  /** A placement for a server request that began a trace here, made when a call is first tied to it. */
  private adopt(req: RequestStart): Placement {
    const p = this.fresh(null, describe(req), req.requestStart);
    this.remember(this.placements, req, p);
    return p;
  }

  /** A placement in a fresh pool slot (random ids); a remote parent hangs it there. */
  private fresh(remote: RemoteParent | null, request: string, at: number): Placement {
    const offset = this.pool.take();
    const p = new Placement(this.pool.bytes, offset, remote, remote?.traceFlags ?? TraceFlags.SAMPLED, remote?.traceState, request, at);
    p.fromTraceparent = remote !== null;
    return p;
  }

  private clientEnd(exchange: string, request: string, at: number): Placement | null {
    const client = this.clients.get(exchange);
    if (client !== undefined) {
      if (client.matches(request, at)) return client;
      this.stats.mismatched++;
      return null;
    }
    // Not seen yet (the read overtook the send): made now, the client takes it over.
    const early = this.fresh(null, request, at);
    early.awaited = true;
    this.remember(this.clients, exchange, early);
    return early;
  }

  private remember<K>(map: Map<K, Placement>, key: K, p: Placement): void {
    if (map.size >= this.max && !map.has(key)) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
      if (map === (this.placements as Map<unknown, Placement>)) this.stats.unmet++;
    }
    map.set(key, p);
  }
}

/**
 * A placement's parent, flags and state, from its chain; its slot gets the
 * trace id of the chain's top (a root's own, or the one its traceparent
 * named, written there when it started).
 */
export function resolve(p: Placement): Resolved {
  let top: Placement = p;
  for (let depth = 0; depth < MAX_DEPTH && top.up instanceof Placement; depth++) top = top.up;
  if (top !== p) copyTraceId(top, p);
  const up = p.up;
  let parent: SpanContext | undefined;
  // A client end that never came (its request lost) made no span: no parent rather than a missing one.
  if (up instanceof Placement && up.awaited) parent = undefined;
  else if (up instanceof Placement) {
    parent = { traceId: hexOf(p.ids, p.offset, TRACE_ID_BYTES), spanId: up.spanIdHex, traceFlags: top.flags, isRemote: true };
  } else if (up !== null) {
    parent = { traceId: up.traceId, spanId: up.spanId, traceFlags: up.traceFlags, isRemote: true, ...(up.traceState ? { traceState: up.traceState } : {}) };
  }
  return { parent, traceFlags: top.flags, traceState: top.state, fromTraceparent: top.fromTraceparent };
}

function copyTraceId(from: Placement, to: Placement): void {
  to.ids.set(from.ids.subarray(from.offset, from.offset + TRACE_ID_BYTES), to.offset);
}

const describe = (req: RequestStart): string => `${req.method} ${req.target}`;

const sameSpan = (a: RemoteParent, b: RemoteParent | null): boolean => b !== null && a.traceId === b.traceId && a.spanId === b.spanId;
