/**
 * One direction of an HTTP/1 connection as a sequence of messages: finds
 * where each head starts and ends and where each body ends, over chunks of
 * any size whose tails may be uncaptured. What the messages mean (pairing,
 * method-dependent framing) is the sink's business.
 */
import type { Chunk, Header } from '../types.js';
import { findHeadEnd, findLf, lineEnd } from './bytes.js';
import { ChunkedDecoder } from './chunked.js';
import { NO_BODY, type Framing } from './framing.js';
import { HeadBuffer } from './HeadBuffer.js';
import { FieldList, INCOMPLETE, parseHeaderLines } from './headers.js';
import type { Http1Limits, Http1Stats } from './limits.js';
import {
  matchRequestStart,
  matchResponseStart,
  parseRequestLine,
  parseStatusLine,
  type LineError,
  type RequestLine,
  type StartMatch,
  type StatusLine,
} from './startLine.js';

/** A parsed head. Requests have no status (0); responses no method, target or protocol (''). */
export interface MessageHead {
  readonly method: string;
  readonly target: string;
  readonly protocol: string;
  readonly status: number;
  readonly headers: Header[];
}

/** What a reader tells about its messages. */
export interface MessageSink {
  /**
   * A head was read (`cut`: only its captured part, the rest fell in a gap);
   * its message began `startOffset` bytes into the flow.
   * Returns how the body is framed, or undefined to drop the message (the
   * sink has counted why); the reader then looks for the next message.
   */
  head(head: MessageHead, startTs: number, cut: boolean, startOffset: number): Framing | undefined;
  /** A head that was expected at this point failed: the message is gone. */
  headFailed(code: string, detail: string): void;
  /** The message ended: normally, or `truncated` (framing lost, or cut by end()). */
  complete(bodySize: number, endTs: number, truncated: boolean): void;
  /** The body's chunked framing was invalid: the message is dropped. */
  bodyFailed(code: string, detail: string): void;
  /** The body's framing fell in a gap: true to keep the message as truncated, false to drop it. */
  lost(): boolean;
  /** While a truncated message runs on: may a new message start in its bytes? */
  expectsAnother(): boolean;
}

export type Role = 'request' | 'response';

interface ParsedHead {
  /** Index just past the head's empty line. */
  readonly end: number;
  readonly head: MessageHead;
}

/** Looking for a plausible message start (on joining, and after an error). */
const SEEK = 0;
/** In sync: the next byte starts a message. */
const IDLE = 1;
const HEAD = 2;
const BODY = 3;
/** In a message whose end is unknown; see release(). */
const LOST = 4;
/** After a CONNECT or Upgrade request, until the response says what follows. */
const PAUSED = 5;
/** Not HTTP/1 any more (101, CONNECT 2xx), or ended. */
const DONE = 6;

/** Every reader's fields are read into this one list (parsing is synchronous), then copied out. */
const FIELDS = new FieldList();

/** Room for a method or status, two spaces, the version and CRLF around the target. */
const START_LINE_SLACK = 64;

const LF = 0x0a;
const CR = 0x0d;

/** The body's end after framing was lost in chunked coding: "0\r\n\r\n". */
const LAST_CHUNK = [0x30, CR, LF, CR, LF];

export class MessageReader {
  private state = SEEK;
  /** Whether SEEK's first position is at a line start. */
  private seekLineStart = false;
  /** The head being read was found by SEEK and is not yet believed: failing it is not an error. */
  private tentative = false;
  private firstLineDone = false;
  private readonly acc: HeadBuffer;
  private readonly chunked: ChunkedDecoder;
  private readonly maxStartLine: number;
  private framing: Framing = NO_BODY;
  private remaining = 0;
  private bodySize = 0;
  private lostChunked = false;
  private skippedWhilePaused = false;
  /** Kernel times of the message: first byte, and last chunk holding its bytes. */
  private startTs = 0;
  /** Bytes into the flow: where the message began, and where the chunk being read begins. */
  private startOffset = 0;
  private chunkOffset = 0;
  private flowBytes = 0;
  private lastTs = 0;
  /** Kernel times of the chunk being read. */
  private tsFirst = 0;
  private tsLast = 0;

  constructor(
    private readonly role: Role,
    private readonly limits: Http1Limits,
    private readonly sink: MessageSink,
    private readonly stats: Http1Stats,
  ) {
    this.acc = new HeadBuffer(limits.maxHeaderBytes);
    this.chunked = new ChunkedDecoder(limits.maxHeaderBytes);
    this.maxStartLine = limits.maxTargetLength + START_LINE_SLACK;
  }

  /**
   * What followed the message that ended HTTP/1 (a 101 response) in the
   * chunk last pushed: the start of the protocol it switched to.
   */
  tunnelled: Chunk | null = null;

  /** Bytes held for a head split across chunks. */
  get bufferedBytes(): number {
    return this.acc.length;
  }

  push(chunk: Chunk): void {
    const data = chunk.data;
    const total = Number.isSafeInteger(chunk.length) && chunk.length >= 0 ? chunk.length : data.length;
    const captured = Math.min(data.length, total);
    this.tsFirst = chunk.tsFirst;
    this.tsLast = chunk.tsLast;
    this.chunkOffset = this.flowBytes;
    this.flowBytes += total;
    this.tunnelled = null;
    const wasDone = this.state === DONE;
    let pos = 0;
    while (pos < total) {
      switch (this.state) {
        case SEEK:
          pos = this.seek(data, pos, captured, total);
          break;
        case IDLE:
          pos = this.idle(data, pos, captured, total);
          break;
        case HEAD:
          pos = this.head(data, pos, captured, total);
          break;
        case BODY:
          pos = this.body(data, pos, captured, total);
          break;
        case LOST:
          pos = this.lost(data, pos, captured, total);
          break;
        case PAUSED:
          this.stats.skippedBytes += total - pos;
          this.skippedWhilePaused = true;
          pos = total;
          break;
        default:
          if (!wasDone) this.tunnelled = { data: data.subarray(pos, Math.max(pos, captured)), length: total - pos, tsFirst: chunk.tsFirst, tsLast: chunk.tsLast };
          return;
      }
    }
  }

  /**
   * EOF. A body delimited by close completes; any other body in progress
   * completes as truncated; a partial head is dropped.
   */
  end(): void {
    if (this.state === BODY) this.finish(this.role === 'request' || this.framing.kind !== 'eof');
    else if (this.state === LOST) this.finish(true);
    this.state = DONE;
    this.acc.reset();
  }

  /** Upcoming bytes that are body of known extent (or nothing is read any more). */
  skippable(): number {
    if (this.state === DONE) return Infinity;
    if (this.state !== BODY) return 0;
    if (this.framing.kind === 'length') return this.remaining;
    if (this.framing.kind === 'chunked') return this.chunked.dataLeft;
    return 0;
  }

  /** Ends a message whose framing was lost, as truncated at its last byte seen. */
  release(): void {
    if (this.state !== LOST) return;
    this.finish(true);
    this.resync(false);
  }

  /** Ends a pause: what was skipped meanwhile leaves the reader out of sync. */
  resume(): void {
    if (this.state !== PAUSED) return;
    if (this.skippedWhilePaused) this.enterSeek(false);
    else this.state = IDLE;
  }

  /** The connection is no longer HTTP/1: ignore everything from now on. */
  tunnel(): void {
    this.state = DONE;
    this.acc.reset();
  }

  private seek(data: Uint8Array, pos: number, captured: number, total: number): number {
    const at = this.findStart(data, pos, captured, pos === 0 || this.seekLineStart);
    this.seekLineStart = false;
    const stop = at < 0 ? total : at;
    this.stats.skippedBytes += stop - pos;
    if (at >= 0) this.startHead(true, at);
    return stop;
  }

  /** First line start in data[from, to) that may begin a message (the chunk start counts as one). */
  private findStart(data: Uint8Array, from: number, to: number, lineStart: boolean): number {
    let p = from;
    if (!lineStart) {
      const lf = findLf(data, p, to);
      if (lf < 0) return -1;
      p = lf + 1;
    }
    while (p < to) {
      if (this.matchStart(data, p, to, true) !== 'no') return p;
      const lf = findLf(data, p, to);
      if (lf < 0) return -1;
      p = lf + 1;
    }
    return -1;
  }

  private matchStart(data: Uint8Array, from: number, to: number, strict: boolean): StartMatch {
    return this.role === 'request' ? matchRequestStart(data, from, to, strict) : matchResponseStart(data, from, to);
  }

  private idle(data: Uint8Array, pos: number, captured: number, total: number): number {
    // RFC 9112 section 2.2: empty lines before a request line are ignored.
    let p = pos;
    while (p < captured && (data[p] === CR || data[p] === LF)) p++;
    if (p < captured) this.startHead(false, p);
    else if (p < total) {
      this.sink.headFailed('gap-in-headers', 'message start not captured');
      this.resync(false);
    }
    return p;
  }

  private startHead(tentative: boolean, at: number): void {
    this.state = HEAD;
    this.tentative = tentative;
    this.firstLineDone = false;
    this.startTs = this.tsFirst;
    this.startOffset = this.chunkOffset + at;
  }

  private head(data: Uint8Array, pos: number, captured: number, total: number): number {
    const max = this.limits.maxHeaderBytes;
    const prev = this.acc.length;
    if (prev === 0) {
      // The usual case: the whole head in one chunk, parsed in place.
      const limit = Math.min(captured, pos + max);
      const parsed = this.parseHead(data, pos, limit);
      if (parsed !== undefined) return this.headParsed(parsed, 0, pos + 1, false);
      if (limit < captured) return this.failHead('header-too-large', `over ${max} bytes`, pos + 1, false);
    }
    const n = Math.min(captured - pos, max - prev);
    this.acc.append(data, pos, pos + n);
    const bytes = this.acc.view();
    // A head failing here is looked past from just after its start if it
    // began in this chunk, else from this chunk's start (a line start, as
    // every chunk start is taken to be).
    const failAt = prev === 0 ? pos + 1 : pos;
    const failLineStart = prev !== 0;
    if (prev > 0 && findHeadEnd(bytes, Math.max(0, prev - 3), bytes.length) >= 0) {
      const parsed = this.parseHead(bytes, 0, bytes.length);
      if (parsed !== undefined) return this.headParsed(parsed, pos - prev, failAt, failLineStart);
    }
    const bad = this.checkFirstLine(bytes, prev);
    if (bad !== undefined) return this.failHead(bad.code, bad.detail, failAt, failLineStart);
    if (n < captured - pos) return this.failHead('header-too-large', `over ${max} bytes`, failAt, failLineStart);
    if (captured < total) this.headCut(bytes);
    return captured;
  }

  /** Fails an incomplete head early: a first line that cannot become valid. */
  private checkFirstLine(bytes: Uint8Array, from: number): LineError | undefined {
    if (this.firstLineDone) return undefined;
    const lf = findLf(bytes, from, bytes.length);
    if (lf >= 0) {
      this.firstLineDone = true;
      const line = this.parseStartLine(bytes, 0, lineEnd(bytes, 0, lf));
      if ('code' in line) return line;
      this.tentative = false;
      return undefined;
    }
    if (bytes.length > this.maxStartLine) {
      return { code: this.role === 'request' ? 'target-too-long' : 'bad-start-line', detail: 'start line too long' };
    }
    if (this.matchStart(bytes, 0, bytes.length, this.tentative) === 'no') {
      return { code: 'bad-start-line', detail: 'not a start line' };
    }
    return undefined;
  }

  private parseStartLine(bytes: Uint8Array, from: number, to: number): RequestLine | StatusLine | LineError {
    return this.role === 'request'
      ? parseRequestLine(bytes, from, to, this.tentative, this.limits.maxTargetLength)
      : parseStatusLine(bytes, from, to);
  }

  /** Parses the head starting at `from`: undefined if it does not end before `to`. */
  private parseHead(bytes: Uint8Array, from: number, to: number): ParsedHead | LineError | undefined {
    const lf = findLf(bytes, from, to);
    if (lf < 0) return undefined;
    const line = this.parseStartLine(bytes, from, lineEnd(bytes, from, lf));
    if ('code' in line) return line;
    // A valid start line is evidence enough: from here on failures count.
    this.tentative = false;
    FIELDS.reset();
    const end = parseHeaderLines(bytes, lf + 1, to, this.limits.maxHeaders, FIELDS);
    if (typeof end !== 'number') return end;
    return end === INCOMPLETE ? undefined : { end, head: toHead(line, FIELDS.take()) };
  }

  /** Hands a parsed head on and starts its body; returns where the chunk goes on (`offset` maps head indexes to it). */
  private headParsed(parsed: ParsedHead | LineError, offset: number, failAt: number, failLineStart: boolean): number {
    if ('code' in parsed) return this.failHead(parsed.code, parsed.detail, failAt, failLineStart);
    this.acc.reset();
    this.lastTs = this.tsLast;
    const framing = this.sink.head(parsed.head, this.startTs, false, this.startOffset);
    if (framing === undefined) this.resync(true);
    else this.beginBody(framing);
    return parsed.end + offset;
  }

  /** The head runs into uncaptured bytes: hand on what was captured of it. */
  private headCut(bytes: Uint8Array): void {
    const lf = findLf(bytes, 0, bytes.length);
    const line = lf < 0 ? undefined : this.parseStartLine(bytes, 0, lineEnd(bytes, 0, lf));
    if (line === undefined || 'code' in line) {
      if (this.tentative) this.enterSeek(false);
      else {
        this.sink.headFailed('gap-in-headers', 'start line not captured');
        this.resync(false);
      }
      return;
    }
    // The fields before the cut (and before any bad line) are kept.
    FIELDS.reset();
    parseHeaderLines(bytes, lf + 1, bytes.length, this.limits.maxHeaders, FIELDS);
    const headers = FIELDS.take();
    this.acc.reset();
    this.lastTs = this.tsLast;
    const framing = this.sink.head(toHead(line, headers), this.startTs, true, this.startOffset);
    if (framing === undefined) this.resync(false);
    else this.beginBody(framing);
  }

  private failHead(code: string, detail: string, at: number, lineStart: boolean): number {
    if (this.tentative) this.enterSeek(lineStart);
    else {
      this.sink.headFailed(code, detail);
      this.resync(lineStart);
    }
    return at;
  }

  private beginBody(framing: Framing): void {
    this.framing = framing;
    this.bodySize = 0;
    switch (framing.kind) {
      case 'none':
        this.finish(false);
        break;
      case 'length':
        this.remaining = framing.length;
        this.state = BODY;
        break;
      case 'chunked':
        this.chunked.reset();
        this.state = BODY;
        break;
      case 'eof':
        this.state = BODY;
        break;
      case 'lost':
        this.lostChunked = false;
        this.state = LOST;
        break;
    }
  }

  private body(data: Uint8Array, pos: number, captured: number, total: number): number {
    this.lastTs = this.tsLast;
    if (this.framing.kind === 'length') {
      const n = Math.min(this.remaining, total - pos);
      this.remaining -= n;
      this.bodySize += n;
      if (this.remaining === 0) this.finish(false);
      return pos + n;
    }
    if (this.framing.kind === 'eof') {
      this.bodySize += total - pos;
      return total;
    }
    const decoder = this.chunked;
    const p = decoder.feed(data, pos, captured, total);
    this.bodySize = decoder.bodySize;
    if (decoder.status === 'done') this.finish(false);
    else if (decoder.error !== undefined) {
      this.sink.bodyFailed(decoder.error.code, decoder.error.detail);
      this.resync(false);
    } else if (decoder.status === 'gap') {
      if (this.sink.lost()) {
        this.lostChunked = true;
        this.state = LOST;
      } else this.resync(false);
    }
    return p;
  }

  /**
   * Bytes of a message whose end is unknown. It ends at a status line when
   * another response is due (pipelining), or, after lost chunked framing,
   * with a whole captured chunk ending in the last-chunk line; otherwise
   * only by release() or end().
   */
  private lost(data: Uint8Array, pos: number, captured: number, total: number): number {
    if (pos < captured && this.sink.expectsAnother()) {
      const at = this.findStart(data, pos, captured, pos === 0);
      if (at >= 0) {
        if (at > pos) this.lastTs = this.tsLast;
        this.finish(true);
        this.startHead(true, at);
        return at;
      }
    }
    this.lastTs = this.tsLast;
    if (this.lostChunked && pos === 0 && captured === total && endsWithLastChunk(data, total)) this.finish(true);
    return total;
  }

  /** Completes the message, then moves to what follows it. */
  private finish(truncated: boolean): void {
    const after = this.framing.after;
    // Set before telling the sink, which may resume() or tunnel() this reader.
    this.state = after === 'tunnel' ? DONE : after === 'pause' ? PAUSED : IDLE;
    this.skippedWhilePaused = false;
    this.sink.complete(this.bodySize, this.lastTs, truncated);
  }

  private resync(lineStart: boolean): void {
    this.stats.resyncs++;
    this.enterSeek(lineStart);
  }

  private enterSeek(lineStart: boolean): void {
    this.state = SEEK;
    this.seekLineStart = lineStart;
    this.acc.reset();
  }
}

function toHead(line: RequestLine | StatusLine, headers: Header[]): MessageHead {
  return 'status' in line
    ? { method: '', target: '', protocol: '', status: line.status, headers }
    : { method: line.method, target: line.target, protocol: line.protocol, status: 0, headers };
}

function endsWithLastChunk(data: Uint8Array, end: number): boolean {
  const from = end - LAST_CHUNK.length;
  if (from < 0 || (from > 0 && data[from - 1] !== LF)) return false;
  for (let k = 0; k < LAST_CHUNK.length; k++) if (data[from + k] !== LAST_CHUNK[k]) return false;
  return true;
}
