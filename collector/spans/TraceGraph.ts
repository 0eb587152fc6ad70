/**
 * Where each span belongs in a trace, decided when its request starts, in
 * the order requests really happened, and read when the span is built
 * (after its answer). Three ties, in this order of trust:
 *
 *  1. the request carries W3C `traceparent` (traceContext.ts);
 *  2. both ends of its connection are traced processes on this host: the
 *     SERVER span is the CLIENT span's child (the request is named alike at
 *     both ends, ConnectionTracker `exchange`);
 *  3. a CLIENT request made on the thread that is serving a request, in a
 *     process that serves one request per thread: the CLIENT span is that
 *     SERVER span's child (ConnectionTracker `servedBy`).
 *
 * Anything else is a root: never a guessed parent. A placement's trace is
 * its root's, read when the span is built, so an end seen a moment late
 * (the server's read can overtake the client's send record) still joins.
 */
import { randomFillSync } from 'node:crypto';
import { TraceFlags, type SpanContext, type TraceState } from '@opentelemetry/api';
import type { RequestStart } from '../../protocols/types.js';
import { remoteParent, type RemoteParent } from './traceContext.js';

/** The trace a root span starts, or continues from a traceparent it was handed. */
export interface TraceOf {
  readonly traceId: string;
  readonly traceFlags: number;
  readonly traceState: TraceState | undefined;
}

/** One span's place: its own id, and what it hangs from. */
export class Placement {
  constructor(
    readonly spanId: string,
    /** A span of this host, a remote parent, or nothing (a root). */
    public up: Placement | RemoteParent | null,
    /** Its trace when it is a root. */
    readonly root: TraceOf,
    /** The request, as its two ends must agree on it. */
    readonly request: string,
    /** Kernel ns its request started. */
    readonly at: number,
  ) {}

  /** Is `other` (the other end's view) plausibly the same request: same text, close in time? */
  matches(request: string, at: number): boolean {
    return request === this.request && Math.abs(at - this.at) < SAME_REQUEST_NS;
  }
}

/** Both ends of one request start within this of each other (a stale key from an old connection does not). */
const SAME_REQUEST_NS = 10e9;

/** What a built span takes from its placement. */
export interface Resolved {
  readonly traceId: string;
  readonly spanId: string;
  readonly parent: SpanContext | undefined;
  readonly traceFlags: number;
  readonly traceState: TraceState | undefined;
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
  /** By ConnectionTracker requestKey. */
  private readonly placements = new Map<string, Placement>();
  /** The CLIENT end of each exchange seen on this host, by exchange. */
  private readonly clients = new Map<string, Placement>();
  readonly stats: TraceGraphStats = { unmet: 0, mismatched: 0 };

  constructor(private readonly max = 65536) {}

  get size(): number {
    return this.placements.size;
  }

  /** A SERVER request started; `exchange` is set when its client end is traced too. */
  serverStarted(key: string, req: RequestStart, exchange: string | undefined): void {
    const request = describe(req);
    let up: Placement | RemoteParent | null = remoteParent(req.requestHeaders);
    if (up === null && exchange !== undefined) up = this.clientEnd(exchange, request, req.requestStart);
    this.place(key, new Placement(freshSpanId(), up, newTrace(), request, req.requestStart));
  }

  /**
   * A CLIENT request started. `exchange`: its server end is traced too.
   * `servedBy`: the placement key of the request its thread is serving.
   */
  clientStarted(key: string, req: RequestStart, exchange: string | undefined, servedBy: string | undefined): void {
    const request = describe(req);
    const remote = remoteParent(req.requestHeaders);
    const serving = servedBy === undefined ? undefined : this.placements.get(servedBy);
    let p: Placement;
    if (remote !== null) {
      // Its own id is the one it hands downstream; its parent is the caller's own span, unknown here.
      p = new Placement(remote.spanId, null, remote, request, req.requestStart);
    } else {
      const early = exchange === undefined ? undefined : this.clients.get(exchange);
      if (early !== undefined && early.matches(request, req.requestStart)) {
        // The server end came first and made this placement: it is ours now.
        early.up = serving ?? null;
        p = early;
      } else {
        p = new Placement(freshSpanId(), serving ?? null, newTrace(), request, req.requestStart);
        if (exchange !== undefined) this.remember(this.clients, exchange, p);
      }
    }
    this.place(key, p);
  }

  /** The placement of a span being built, gone from here once taken. */
  take(key: string, exchange: string | undefined): Placement | undefined {
    const p = this.placements.get(key);
    if (p === undefined) return undefined;
    this.placements.delete(key);
    if (exchange !== undefined && this.clients.get(exchange) === p) this.clients.delete(exchange);
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
    const early = new Placement(freshSpanId(), null, newTrace(), request, at);
    this.remember(this.clients, exchange, early);
    return early;
  }

  private place(key: string, p: Placement): void {
    this.remember(this.placements, key, p);
  }

  private remember(map: Map<string, Placement>, key: string, p: Placement): void {
    if (map.size >= this.max && !map.has(key)) {
      const oldest = map.keys().next().value;
      if (oldest !== undefined) map.delete(oldest);
      if (map === this.placements) this.stats.unmet++;
    }
    map.set(key, p);
  }
}

/** A placement's trace, parent, flags and state, from its chain. */
export function resolve(p: Placement): Resolved {
  let top: Placement = p;
  for (let depth = 0; depth < MAX_DEPTH && top.up instanceof Placement; depth++) top = top.up;
  // A chain cut for depth is read from where it was cut: its own root.
  const trace: TraceOf = top.up instanceof Placement || top.up === null ? top.root : top.up;
  const up = p.up;
  let parent: SpanContext | undefined;
  if (up instanceof Placement) parent = { traceId: trace.traceId, spanId: up.spanId, traceFlags: trace.traceFlags, isRemote: true };
  else if (up !== null) parent = { traceId: trace.traceId, spanId: up.spanId, traceFlags: up.traceFlags, isRemote: true, ...(up.traceState ? { traceState: up.traceState } : {}) };
  return { traceId: trace.traceId, spanId: p.spanId, parent, traceFlags: trace.traceFlags, traceState: trace.traceState };
}

const describe = (req: RequestStart): string => `${req.method} ${req.target}`;

function newTrace(): TraceOf {
  const b = randomFillSync(new Uint8Array(16));
  b[15]! |= 1; // never all zero (W3C)
  return { traceId: Buffer.from(b).toString('hex'), traceFlags: TraceFlags.SAMPLED, traceState: undefined };
}

function freshSpanId(): string {
  const b = randomFillSync(new Uint8Array(8));
  b[7]! |= 1;
  return Buffer.from(b).toString('hex');
}
