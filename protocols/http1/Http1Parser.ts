/**
 * HTTP/1.x for one TCP connection, both directions: pairs requests with
 * responses in order (keep-alive and pipelining), and copes with joining
 * mid-stream, uncaptured bytes and hostile input. Pure: bytes and kernel
 * times in, transactions and errors out.
 */
import type {
  Chunk,
  ConnectionParser,
  FlowDirection,
  HttpTransaction,
  ParseOutput,
  RequestStart,
} from '../types.js';
import { PendingOutput } from '../output.js';
import { newExchange, requestStartOf, toTransaction, type Exchange } from './exchange.js';
import { LOST_BODY, NO_BODY, requestFraming, responseFraming, type Framing } from './framing.js';
import { resolveLimits, type Http1Limits, type Http1Stats } from './limits.js';
import { MessageReader, type MessageHead } from './MessageReader.js';

/** A request answered with "101 Switching Protocols" to h2c, and the HTTP/2 bytes that followed the 101 in its chunk. */
export interface H2cUpgrade {
  readonly request: HttpTransaction;
  rest: Chunk | null;
}

function isH2cUpgrade(ex: Exchange): boolean {
  const wanted = (headers: readonly (readonly [string, string])[]): boolean =>
    headers.some(([n, v]) => n === 'upgrade' && v.trim().toLowerCase() === 'h2c');
  return wanted(ex.requestHeaders) && wanted(ex.responseHeaders);
}

export class Http1Parser implements ConnectionParser {
  readonly stats: Readonly<Http1Stats>;
  private readonly limits: Http1Limits;
  private readonly toServer: MessageReader;
  private readonly toClient: MessageReader;
  /** Requests read, oldest first, whose final response has not completed. */
  private readonly queue: Exchange[] = [];
  /** The request whose body is being read. */
  private sending: Exchange | undefined;
  /** The exchange whose final response is being read; undefined for 1xx and unpaired responses. */
  private receiving: Exchange | undefined;
  private tunnelAfterResponse = false;
  private upgrade: H2cUpgrade | null = null;
  private requestsSeen = 0;
  // Gathered since the last drain; null until the first of its kind: a
  // drain mostly has one kind only, and two empty arrays per record were
  // ~130 bytes per traced request.
  private readonly out = new PendingOutput();
  /** What drain() returns, refilled each time rather than made per record. */

  constructor(limits?: Partial<Http1Limits>) {
    this.limits = resolveLimits(limits);
    const stats: Http1Stats = { skippedBytes: 0, resyncs: 0 };
    this.stats = stats;
    this.toServer = new MessageReader(
      'request',
      this.limits,
      {
        head: (head, startTs, cut, startOffset) => this.requestHead(head, startTs, cut, startOffset),
        headFailed: (code, detail) => this.error(code, 'toServer', detail),
        complete: (bodySize, endTs, truncated) => this.requestComplete(bodySize, endTs, truncated),
        bodyFailed: (code, detail) => this.requestDropped(code, detail),
        lost: () => this.requestDropped('gap-in-chunked', 'chunk size not captured'),
        expectsAnother: () => false,
      },
      stats,
    );
    this.toClient = new MessageReader(
      'response',
      this.limits,
      {
        head: (head, startTs, cut) => this.responseHead(head, startTs, cut),
        headFailed: (code, detail) => {
          // The response that broke answered the oldest request, which will get no other.
          this.error(code, 'toClient', detail);
          this.dropOldest();
        },
        complete: (bodySize, endTs, truncated) => this.responseComplete(bodySize, endTs, truncated),
        bodyFailed: (code, detail) => this.responseBodyFailed(code, detail),
        lost: () => this.receiving !== undefined,
        expectsAnother: () => this.queue.length > (this.queue[0] === this.receiving ? 1 : 0),
      },
      stats,
    );
  }

  get pending(): number {
    return this.queue.length;
  }

  inFlight(): RequestStart | undefined {
    const ex = this.queue.length === 1 ? this.queue[0]! : undefined;
    return ex === undefined || ex.dropped || ex.status !== 0 ? undefined : requestStartOf(ex);
  }

  skippable(direction: FlowDirection): number {
    return (direction === 'toServer' ? this.toServer : this.toClient).skippable();
  }

  /** Bytes held for heads split across chunks, both directions: at most twice maxHeaderBytes. */
  get bufferedBytes(): number {
    return this.toServer.bufferedBytes + this.toClient.bufferedBytes;
  }

  push(direction: FlowDirection, chunk: Chunk): void {
    const reader = direction === 'toServer' ? this.toServer : this.toClient;
    reader.push(chunk);
    if (this.upgrade !== null && direction === 'toClient' && reader.tunnelled !== null) {
      // A copy: the chunk is a view into a shared slab.
      const rest = reader.tunnelled;
      this.upgrade.rest = { ...rest, data: rest.data.slice() };
    }
    reader.tunnelled = null;
  }

  /** The connection switched to HTTP/2 (101 to "Upgrade: h2c"): what the HTTP/2 parser needs to go on. */
  takeH2cUpgrade(): H2cUpgrade | null {
    const up = this.upgrade;
    this.upgrade = null;
    return up;
  }

  /**
   * Times come from the bytes, so `ts` is not needed: a message cut by the
   * close ends at its last byte seen, not at the close.
   */
  end(direction: FlowDirection, _ts: number): void {
    if (direction === 'toServer') {
      this.toServer.end();
      return;
    }
    this.toClient.end();
    // No response can come now for the requests still waiting.
    for (const ex of this.queue) ex.dropped = true;
    this.queue.length = 0;
  }

  drain(): ParseOutput {
    return this.out.drain();
  }

  private requestHead(head: MessageHead, startTs: number, cut: boolean, startOffset: number): Framing | undefined {
    // A new request is the best bound on a response whose framing was lost.
    this.toClient.release();
    if (this.queue.length >= this.limits.maxPending) {
      this.error('pending-overflow', 'toServer', `${this.queue.length} requests unanswered`);
      this.dropOldest();
    }
    this.requestsSeen++;
    const ex = newExchange(head, startTs, startOffset);
    this.queue.push(ex);
    const framing = cut
      ? { code: 'gap-in-headers', detail: 'request head not captured' }
      : requestFraming(head.method, head.headers);
    if ('code' in framing) {
      // The server will answer it: keep its place so the answer is not paired with the next request.
      this.error(framing.code, 'toServer', framing.detail);
      ex.dropped = true;
      return undefined;
    }
    this.sending = ex;
    this.out.start(requestStartOf(ex));
    return framing;
  }

  private requestComplete(bodySize: number, endTs: number, truncated: boolean): void {
    const ex = this.sending;
    if (ex === undefined) return;
    this.sending = undefined;
    ex.requestBodySize = bodySize;
    ex.requestEnd = endTs;
    ex.requestDone = true;
    if (truncated) ex.truncated = true;
    // The final response came before the request ended: no pause is needed.
    if (ex.status !== 0) this.toServer.resume();
    if (ex.responseDone) this.emit(ex);
  }

  private requestDropped(code: string, detail: string): false {
    this.error(code, 'toServer', detail);
    if (this.sending !== undefined) this.sending.dropped = true;
    this.sending = undefined;
    return false;
  }

  private responseHead(head: MessageHead, startTs: number, cut: boolean): Framing | undefined {
    const ex = this.queue[0];
    const status = head.status;
    this.receiving = undefined;
    this.tunnelAfterResponse = false;
    if (ex === undefined) {
      // Before any request was seen, this answers one sent before we joined.
      if (this.requestsSeen > 0) this.error('unexpected-response', 'toClient', `status ${status}`);
      return cut ? undefined : this.framingOf(status, undefined, head);
    }
    if (status < 200 && status !== 101) {
      if (!cut) return NO_BODY;
      this.error('gap-in-headers', 'toClient', 'interim response head not captured');
      return undefined;
    }
    let framing: Framing | undefined = LOST_BODY;
    if (!cut) {
      framing = this.framingOf(status, ex.method, head);
      if (framing === undefined) {
        this.dropOldest();
        return undefined;
      }
    }
    ex.status = status;
    ex.responseHeaders = head.headers;
    ex.responseStart = startTs;
    this.receiving = ex;
    if (!this.tunnelAfterResponse) this.toServer.resume();
    return framing;
  }

  /** Response framing, noting a tunnel; undefined (counted) when invalid. */
  private framingOf(status: number, method: string | undefined, head: MessageHead): Framing | undefined {
    const framing = responseFraming(status, method, head.headers);
    if ('code' in framing) {
      this.error(framing.code, 'toClient', framing.detail);
      return undefined;
    }
    this.tunnelAfterResponse = framing.after === 'tunnel';
    return framing;
  }

  private responseComplete(bodySize: number, endTs: number, truncated: boolean): void {
    const ex = this.receiving;
    this.receiving = undefined;
    if (ex !== undefined) {
      ex.responseBodySize = bodySize;
      ex.responseEnd = endTs;
      ex.responseDone = true;
      if (truncated) ex.truncated = true;
      if (this.queue[0] === ex) this.queue.shift();
      if (ex.status === 101 && isH2cUpgrade(ex)) {
        // Not an answer: the answer comes on HTTP/2 stream 1.
        ex.status = 0;
        ex.responseHeaders = [];
        this.upgrade = { request: toTransaction(ex), rest: null };
      } else if (ex.requestDone) this.emit(ex);
    }
    if (this.tunnelAfterResponse) {
      // 101 or CONNECT 2xx: the rest of the connection is not HTTP/1.
      this.toServer.tunnel();
      this.queue.length = 0;
      this.sending = undefined;
    }
  }

  private responseBodyFailed(code: string, detail: string): void {
    this.error(code, 'toClient', detail);
    const ex = this.receiving;
    this.receiving = undefined;
    if (ex === undefined) return;
    ex.dropped = true;
    if (this.queue[0] === ex) this.queue.shift();
  }

  private dropOldest(): void {
    const oldest = this.queue.shift();
    if (oldest !== undefined) oldest.dropped = true;
  }

  private emit(ex: Exchange): void {
    if (!ex.dropped) this.out.transaction(toTransaction(ex));
  }

  private error(code: string, direction: FlowDirection, detail: string): void {
    this.out.error({ code, direction, detail });
  }
}
