/**
 * Chunked transfer coding (RFC 9112 section 7.1): counts decoded body bytes
 * and finds where the body ends, including over uncaptured bytes inside
 * chunk data.
 */
import type { LineError } from './startLine.js';

/** `gap`: a size line or the trailers fell in uncaptured bytes, so the end is unknowable. */
export type ChunkedStatus = 'more' | 'done' | 'error' | 'gap';

const SIZE = 0; // first hex digit of a size line
const SIZE_MORE = 1; // more hex digits, extensions or the line end
const EXT = 2; // chunk extensions, skipped to the LF
const SIZE_LF = 3; // LF after the size line's CR
const DATA = 4;
const DATA_CR = 5; // CRLF after chunk data
const DATA_LF = 6;
const TRAILER_START = 7; // start of a trailer line or of the final empty line
const TRAILER_LINE = 8;
const TRAILER_LF = 9; // LF of the final empty line
const SIZE_WS = 10; // whitespace after the size: only extensions or the line end may follow

const HT = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const SEMICOLON = 0x3b;

/** 13 significant hex digits stay below 2^53, so sizes stay exact numbers. */
const MAX_SIZE_DIGITS = 13;

const HEX: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

export class ChunkedDecoder {
  status: ChunkedStatus = 'more';
  error: LineError | undefined;
  /** Decoded body bytes so far, captured or not. */
  bodySize = 0;
  private state = SIZE;
  /** Size being parsed, then data bytes left in the chunk. */
  private size = 0;
  private digits = 0;
  /** Bytes of the current extensions, or of all trailers so far. */
  private lineBytes = 0;

  /** `maxLineBytes` bounds the extensions of one size line and the trailers. */
  constructor(private readonly maxLineBytes: number) {}

  /** Data bytes left in the current chunk: known to be body, not framing. */
  get dataLeft(): number {
    return this.state === DATA ? this.size : 0;
  }

  reset(): void {
    this.status = 'more';
    this.error = undefined;
    this.bodySize = 0;
    this.state = SIZE;
    this.size = 0;
    this.digits = 0;
    this.lineBytes = 0;
  }

  /**
   * Consumes body bytes from `pos` up to `total`, of which only those before
   * `captured` are known, and returns where it stopped: at `total`, just past
   * the body when `done`, at the bad byte on `error`, at the gap on `gap`.
   */
  feed(bytes: Uint8Array, pos: number, captured: number, total: number): number {
    let p = pos;
    while (p < total) {
      const state = this.state;
      if (state === DATA) {
        const n = Math.min(this.size, total - p);
        this.size -= n;
        this.bodySize += n;
        p += n;
        if (this.size === 0) this.state = DATA_CR;
        continue;
      }
      if (p >= captured) {
        // The CRLF after chunk data has a known place: skip it unseen. Any
        // other line's length is unknown, so the framing is lost.
        if (state !== DATA_CR && state !== DATA_LF) {
          this.status = 'gap';
          return p;
        }
        this.state = state === DATA_CR ? DATA_LF : SIZE;
        p++;
        continue;
      }
      if (!this.step(bytes[p] ?? 0)) return p;
      p++;
      if (this.status === 'done') return p;
    }
    return p;
  }

  /** Advances over one captured framing byte; false on a framing error. */
  private step(c: number): boolean {
    switch (this.state) {
      case SIZE: {
        const h = HEX[c] ?? -1;
        if (h < 0) return this.fail('bad-chunk-size', 'no hex digit');
        this.size = h;
        this.digits = h > 0 ? 1 : 0;
        this.state = SIZE_MORE;
        return true;
      }
      case SIZE_MORE: {
        const h = HEX[c] ?? -1;
        if (h >= 0) {
          if (this.digits > 0 || h > 0) this.digits++;
          if (this.digits > MAX_SIZE_DIGITS) return this.fail('bad-chunk-size', 'size too large');
          this.size = this.size * 16 + h;
        } else return this.afterSize(c);
        return true;
      }
      case SIZE_WS:
        return this.afterSize(c);
      case EXT:
        if (c === LF) this.endSizeLine();
        else if (++this.lineBytes > this.maxLineBytes) return this.fail('bad-chunk-size', 'extensions too long');
        return true;
      case SIZE_LF:
        if (c !== LF) return this.fail('bad-chunk-size', 'CR without LF');
        this.endSizeLine();
        return true;
      case DATA_CR:
        // A bare LF is accepted as a line end, as for heads.
        if (c === CR) this.state = DATA_LF;
        else if (c === LF) this.state = SIZE;
        else return this.fail('bad-chunk-data', 'no CRLF after chunk data');
        return true;
      case DATA_LF:
        if (c !== LF) return this.fail('bad-chunk-data', 'no CRLF after chunk data');
        this.state = SIZE;
        return true;
      case TRAILER_START:
        if (c === CR) this.state = TRAILER_LF;
        else if (c === LF) this.status = 'done';
        else return this.trailerByte(c);
        return true;
      case TRAILER_LINE:
        return this.trailerByte(c);
      default: // TRAILER_LF
        if (c !== LF) return this.fail('bad-trailer', 'CR without LF');
        this.status = 'done';
        return true;
    }
  }

  /** A byte after the size digits: BWS, then extensions or the line end (RFC 9112 section 7.1.1). */
  private afterSize(c: number): boolean {
    if (c === SP || c === HT) this.state = SIZE_WS;
    else if (c === SEMICOLON) {
      this.state = EXT;
      this.lineBytes = 0;
    } else if (c === CR) this.state = SIZE_LF;
    else if (c === LF) this.endSizeLine();
    else return this.fail('bad-chunk-size', 'bad byte in size line');
    return true;
  }

  /** Trailers are skipped, not kept: spans are built from the head. */
  private trailerByte(c: number): boolean {
    if (++this.lineBytes > this.maxLineBytes) return this.fail('bad-trailer', 'trailers too long');
    this.state = c === LF ? TRAILER_START : TRAILER_LINE;
    return true;
  }

  private endSizeLine(): void {
    if (this.size === 0) {
      this.state = TRAILER_START;
      this.lineBytes = 0;
    } else this.state = DATA;
  }

  private fail(code: string, detail: string): false {
    this.status = 'error';
    this.error = { code, detail };
    return false;
  }
}
