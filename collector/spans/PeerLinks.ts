/**
 * Both ends of one request, seen in two traced processes on this host
 * (ConnectionTracker: the connection's other end is followed too): the
 * SERVER span becomes the child of the CLIENT span, in its trace, with
 * nothing injected. Whichever span is built first (usually the server's:
 * it answers before the client has read the answer) fixes the ids the
 * CLIENT span has; the other takes them. A request is named the same at
 * both ends (client and server addresses, and its TCP sequence number or
 * HTTP/2 stream), and its method and target must agree too, so a wrong
 * match would need both to collide: where they do not, the spans stay
 * apart, never wrongly parented.
 */
import { randomFillSync } from 'node:crypto';

/** The CLIENT span's ids, as hex. */
export interface ClientIds {
  readonly traceId: string;
  readonly spanId: string;
}

interface Pending extends ClientIds {
  /** Which end made it; the other consumes it. */
  readonly by: 'client' | 'server';
  readonly request: string;
}

export class PeerLinks {
  private readonly pending = new Map<string, Pending>();
  /** Ends that never met their other end (its span not built, or evicted). */
  dropped = 0;

  constructor(private readonly maxPending = 16384) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * The CLIENT span ids of exchange `key`, as the end `by` sees them:
   * `own` (the client's, when it is the client building its span) are
   * offered; the answer is what both ends will use, or undefined when the
   * two ends disagree about the request.
   */
  meet(key: string, by: 'client' | 'server', request: string, own: ClientIds | undefined): ClientIds | undefined {
    const other = this.pending.get(key);
    if (other !== undefined && other.by !== by) {
      this.pending.delete(key);
      return other.request === request ? other : undefined;
    }
    if (other !== undefined) this.dropped++; // the same end twice: a stale one
    const ids = own ?? freshIds();
    if (this.pending.size >= this.maxPending) {
      const oldest = this.pending.keys().next().value;
      if (oldest !== undefined) this.pending.delete(oldest);
      this.dropped++;
    }
    this.pending.set(key, { ...ids, by, request });
    return ids;
  }
}

function freshIds(): ClientIds {
  const b = randomFillSync(new Uint8Array(24));
  // Never all zero (W3C): set one bit in each.
  b[15]! |= 1;
  b[23]! |= 1;
  return { traceId: Buffer.from(b.subarray(0, 16)).toString('hex'), spanId: Buffer.from(b.subarray(16)).toString('hex') };
}
