/**
 * HTTP/2 for one connection, both directions: frames, one HPACK decoder
 * per direction, and streams that become transactions when their response
 * ends or they are reset. Joining midway (or after lost bytes), the HPACK
 * dynamic table is partly unknown: fields that refer into it are reported
 * as unrecovered, never guessed. Pure: bytes and kernel times in,
 * transactions and errors out.
 */
import type { Chunk, ConnectionParser, FlowDirection, Header, HttpTransaction, ParseOutput, RequestStart } from '../types.js';
import { PendingOutput } from '../output.js';
import { DEFAULT_MAX_FRAME_SIZE, Flag, FrameType, Setting } from './constants.js';
import { FrameReader, type Frame, type FrameSink } from './FrameReader.js';
import { HpackDecoder, type HpackResult } from './hpack/index.js';
import { DEFAULT_HTTP2_LIMITS, type Http2Limits, type Http2Stats } from './limits.js';
import { headerValue, newStream, streamStart, streamTransaction, type Stream } from './stream.js';

export interface Http2Options {
  /** The connection was already running: no preface, HPACK tables unknown. */
  readonly midway?: boolean;
  /** Upgraded from HTTP/1.1 (h2c): stream 1 is that request, answered over HTTP/2. */
  readonly upgradedRequest?: HttpTransaction;
  readonly limits?: Partial<Http2Limits>;
}

/** A header block being gathered from HEADERS (or PUSH_PROMISE) and CONTINUATION frames. */
interface Block {
  readonly streamId: number;
  readonly endStream: boolean;
  readonly promise: boolean;
  readonly parts: Uint8Array[];
  size: number;
  broken: boolean;
  readonly tsFirst: number;
}

class Direction implements FrameSink {
  readonly reader: FrameReader;
  readonly hpack: HpackDecoder;
  block: Block | null = null;

  constructor(
    private readonly parser: Http2Parser,
    readonly flow: FlowDirection,
    stats: Http2Stats,
    midway: boolean,
    limits: Http2Limits,
  ) {
    this.reader = new FrameReader(this, stats, {
      preface: flow === 'toServer' && !midway,
      midway,
      maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
      maxPayload: limits.maxHeaderBlock,
    });
    this.hpack = new HpackDecoder({ midway, maxHeaderListSize: limits.maxHeaderListSize });
  }

  frame(f: Frame): void {
    this.parser.onFrame(this, f);
  }

  lost(): void {
    this.parser.onLost(this);
  }

  error(code: string, detail: string): void {
    this.parser.error(code, this.flow, detail);
  }
}

export class Http2Parser implements ConnectionParser {
  readonly stats: Readonly<Http2Stats>;
  private readonly limits: Http2Limits;
  private readonly mutableStats: Http2Stats;
  private readonly toServer: Direction;
  private readonly toClient: Direction;
  private readonly streams = new Map<number, Stream>();
  private readonly midway: boolean;
  // Gathered since the last drain; null until the first of its kind: a
  // drain mostly has one kind only, and two empty arrays per record were
  // ~130 bytes per traced request.
  private readonly out = new PendingOutput();
  /** What drain() returns, refilled each time rather than made per record. */

  constructor(opts: Http2Options = {}) {
    this.limits = { ...DEFAULT_HTTP2_LIMITS, ...opts.limits };
    this.mutableStats = { skippedBytes: 0, resyncs: 0, lostHeaderBlocks: 0, droppedStreams: 0 };
    this.stats = this.mutableStats;
    this.midway = opts.midway ?? false;
    this.toServer = new Direction(this, 'toServer', this.mutableStats, this.midway, this.limits);
    this.toClient = new Direction(this, 'toClient', this.mutableStats, this.midway, this.limits);
    if (opts.upgradedRequest) this.seedUpgrade(opts.upgradedRequest);
  }

  get pending(): number {
    return this.streams.size;
  }

  inFlight(): RequestStart | undefined {
    let only: Stream | undefined;
    for (const s of this.streams.values()) {
      if (s.responded) continue;
      if (only !== undefined) return undefined;
      only = s;
    }
    return only === undefined ? undefined : streamStart(only);
  }

  push(direction: FlowDirection, chunk: Chunk): void {
    this.dir(direction).reader.push(chunk);
  }

  skippable(direction: FlowDirection): number {
    return this.dir(direction).reader.skippable();
  }

  /** The server's side closing ends every stream: those with a response are cut short, the rest dropped. */
  end(direction: FlowDirection, _ts: number): void {
    if (direction !== 'toClient') return;
    for (const s of this.streams.values()) {
      if (s.responded) {
        s.responseEnd = Math.max(s.responseEnd, s.responseStart);
        this.out.transaction(streamTransaction(s, true));
      } else this.mutableStats.droppedStreams++;
    }
    this.streams.clear();
  }

  drain(): ParseOutput {
    return this.out.drain();
  }

  error(code: string, direction: FlowDirection, detail?: string): void {
    this.out.error(detail === undefined ? { code, direction } : { code, direction, detail });
  }

  private dir(flow: FlowDirection): Direction {
    return flow === 'toServer' ? this.toServer : this.toClient;
  }

  onLost(d: Direction): void {
    this.error('frames-lost', d.flow);
    if (d.block !== null) {
      // Its stream is known even if its fields are not: end it as lost.
      d.block.broken = true;
      this.endBlock(d, d.block.tsFirst);
    } else {
      this.mutableStats.lostHeaderBlocks++;
      d.hpack.lostBlock();
    }
  }

  onFrame(d: Direction, f: Frame): void {
    const h = f.header;
    if (d.block !== null && h.type !== FrameType.Continuation) {
      this.error('continuation-expected', d.flow, `type ${h.type}`);
      this.loseBlock(d);
    }
    switch (h.type) {
      case FrameType.Data:
        this.onData(d, h.streamId, f.dataBytes, (h.flags & Flag.EndStream) !== 0, f.tsLast);
        return;
      case FrameType.Headers:
      case FrameType.PushPromise:
        this.startBlock(d, f);
        return;
      case FrameType.Continuation:
        this.continueBlock(d, f);
        return;
      case FrameType.RstStream:
        this.onReset(h.streamId, f.payload, f.tsLast);
        return;
      case FrameType.Settings:
        if (f.payload !== null) this.onSettings(d, f.payload);
        return;
      case FrameType.GoAway:
        if (f.payload !== null && d.flow === 'toClient') this.onGoAway(f.payload);
        return;
      default:
        // PRIORITY, PING, WINDOW_UPDATE: nothing a span needs.
        return;
    }
  }

  private startBlock(d: Direction, f: Frame): void {
    const h = f.header;
    const promise = h.type === FrameType.PushPromise;
    const block: Block = {
      streamId: h.streamId,
      endStream: !promise && (h.flags & Flag.EndStream) !== 0,
      promise,
      parts: [],
      size: 0,
      broken: f.payload === null,
      tsFirst: f.tsFirst,
    };
    if (f.payload !== null) {
      const fragment = blockFragment(f.payload, h.flags, promise);
      if (fragment === null) {
        this.error('bad-padding', d.flow);
        block.broken = true;
      } else block.parts.push(fragment);
    }
    d.block = block;
    if (h.flags & Flag.EndHeaders) this.endBlock(d, f.tsLast);
  }

  private continueBlock(d: Direction, f: Frame): void {
    const block = d.block;
    if (block === null || block.streamId !== f.header.streamId) {
      this.error('unexpected-continuation', d.flow);
      if (block !== null) this.loseBlock(d);
      return;
    }
    if (f.payload === null) block.broken = true;
    else {
      block.size += f.payload.length;
      if (block.size > this.limits.maxHeaderBlock) block.broken = true;
      else block.parts.push(f.payload);
    }
    if (f.header.flags & Flag.EndHeaders) this.endBlock(d, f.tsLast);
  }

  private loseBlock(d: Direction): void {
    this.mutableStats.lostHeaderBlocks++;
    d.block = null;
    d.hpack.lostBlock();
  }

  private endBlock(d: Direction, tsLast: number): void {
    const block = d.block!;
    d.block = null;
    let result: HpackResult;
    if (block.broken) {
      this.loseBlock(d);
      result = { ok: true, headers: [], unknown: [{ name: null }] };
    } else {
      result = d.hpack.decode(block.parts.length === 1 ? block.parts[0]! : joinParts(block.parts));
      if (!result.ok) {
        this.error(`hpack-${result.error}`, d.flow, result.detail);
        result = { ok: true, headers: [], unknown: [{ name: null }] };
      }
    }
    if (block.promise) return;
    const headers = result.headers as Header[];
    const incomplete = result.unknown.length > 0;
    if (d.flow === 'toServer') this.onRequestHeaders(block, headers, incomplete, tsLast);
    else this.onResponseHeaders(block, headers, incomplete, tsLast);
  }

  private onRequestHeaders(block: Block, headers: Header[], incomplete: boolean, tsLast: number): void {
    let s = this.streams.get(block.streamId);
    if (s === undefined) {
      // Clients open odd streams only; an even one is a promise we do not follow.
      if (block.streamId % 2 === 0) return;
      s = this.open(block.streamId, block.tsFirst);
      s.requestHeaders = headers;
      const method = headerValue(headers, ':method');
      const path = headerValue(headers, ':path');
      s.method = method ?? '';
      s.path = path ?? '';
      if (method === undefined) this.unrecovered(s, 'method', incomplete);
      if (path === undefined && method !== 'CONNECT') this.unrecovered(s, 'path', incomplete);
      if (headerValue(headers, ':authority') === undefined && incomplete) s.unrecovered.add('authority');
      this.out.start(streamStart(s));
    }
    s.requestEnd = tsLast;
    if (block.endStream) s.requestEnded = true;
  }

  private onResponseHeaders(block: Block, headers: Header[], incomplete: boolean, tsLast: number): void {
    const s = this.streams.get(block.streamId);
    if (s === undefined) return;
    if (!s.responded) {
      const statusText = headerValue(headers, ':status');
      const status = statusText === undefined ? 0 : Number.parseInt(statusText, 10);
      if (status >= 100 && status < 200) return;
      s.responded = true;
      s.responseStart = block.tsFirst;
      s.responseHeaders = headers;
      if (Number.isInteger(status) && status >= 200 && status <= 999) s.status = status;
      else this.unrecovered(s, 'status', incomplete);
      // Trailers-Only: a gRPC answer with no body puts its status in the one block.
      if (block.endStream && headerValue(headers, 'grpc-status') !== undefined) s.responseTrailers = headers;
    } else {
      s.responseTrailers = headers;
      if (incomplete && headerValue(headers, 'grpc-status') === undefined) s.unrecovered.add('trailers');
    }
    s.responseEnd = tsLast;
    if (block.endStream) this.complete(s, false);
  }

  private unrecovered(s: Stream, field: string, incomplete: boolean): void {
    s.unrecovered.add(field);
    if (!incomplete) this.error(`missing-${field}`, field === 'status' ? 'toClient' : 'toServer', `stream ${s.id}`);
  }

  private onData(d: Direction, id: number, bytes: number, endStream: boolean, ts: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    if (d.flow === 'toServer') {
      s.requestBody += bytes;
      s.requestEnd = ts;
      if (endStream) s.requestEnded = true;
    } else {
      s.responseBody += bytes;
      s.responseEnd = ts;
      if (endStream) this.complete(s, false);
    }
  }

  private onReset(id: number, payload: Uint8Array | null, ts: number): void {
    const s = this.streams.get(id);
    if (s === undefined) return;
    const code = payload !== null && payload.length === 4 ? readU32(payload, 0) : 0;
    s.resetCode = code;
    if (!s.responded) s.status = 0;
    s.responseEnd = Math.max(ts, s.responseEnd);
    this.complete(s, false);
  }

  private onSettings(d: Direction, payload: Uint8Array): void {
    // What one side announces bounds what the other sends.
    const other = d === this.toServer ? this.toClient : this.toServer;
    for (let p = 0; p + 6 <= payload.length; p += 6) {
      const id = (payload[p]! << 8) | payload[p + 1]!;
      const value = readU32(payload, p + 2);
      if (id === Setting.HeaderTableSize) other.hpack.setMaxTableSize(value);
      else if (id === Setting.MaxFrameSize && value > other.reader.maxFrameSize && value <= 16777215) other.reader.maxFrameSize = value;
    }
  }

  /** The server will not process streams above `lastStreamId`: the client retries them elsewhere. */
  private onGoAway(payload: Uint8Array): void {
    const last = readU32(payload, 0) & 0x7fffffff;
    for (const [id, s] of this.streams) {
      if (id > last && !s.responded) {
        this.streams.delete(id);
        this.mutableStats.droppedStreams++;
      }
    }
  }

  private open(id: number, ts: number): Stream {
    if (this.streams.size >= this.limits.maxStreams) {
      const oldest = this.streams.keys().next().value;
      if (oldest !== undefined) {
        this.streams.delete(oldest);
        this.mutableStats.droppedStreams++;
        this.error('stream-overflow', 'toServer', `over ${this.limits.maxStreams} streams`);
      }
    }
    const s = newStream(id, ts);
    this.streams.set(id, s);
    return s;
  }

  private complete(s: Stream, truncated: boolean): void {
    this.streams.delete(s.id);
    if (s.unrecovered.size > 0) this.error('headers-unrecovered', 'toServer', [...s.unrecovered].join(','));
    this.out.transaction(streamTransaction(s, truncated));
  }

  private seedUpgrade(req: HttpTransaction): void {
    const s = this.open(1, req.requestStart);
    s.method = req.method;
    s.path = req.target;
    s.requestHeaders = [...req.requestHeaders];
    s.requestEnd = req.requestEnd;
    s.requestBody = req.requestBodySize;
    s.requestEnded = true;
    // The upgraded request began as HTTP/1, and was reported then: the same request.
    s.start = req.start;
  }
}

function readU32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/** The header block fragment of a HEADERS or PUSH_PROMISE payload; null when the padding does not fit. */
function blockFragment(payload: Uint8Array, flags: number, promise: boolean): Uint8Array | null {
  let from = 0;
  let to = payload.length;
  if (flags & Flag.Padded) {
    if (payload.length < 1) return null;
    to -= payload[0]!;
    from = 1;
  }
  if (promise) from += 4;
  else if (flags & Flag.Priority) from += 5;
  return from <= to ? payload.subarray(from, to) : null;
}

function joinParts(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

