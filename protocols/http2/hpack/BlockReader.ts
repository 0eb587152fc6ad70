/**
 * The primitive types of a header block (RFC 7541 section 5): prefix
 * integers and string literals, read from a cursor over one block.
 */
import { latin1 } from '../../http1/bytes.js';
import { huffmanDecode, huffmanScratchLength } from './huffman.js';
import type { HpackErrorCode } from './types.js';

/** What integer() returns when the block ends inside the integer. */
export const INT_TRUNCATED = -1;
/** What integer() returns for a value above MAX_INTEGER. */
export const INT_OVERFLOW = -2;

/**
 * Far above any index, length or table size a sane peer sends, and low
 * enough that arithmetic on it stays exact.
 */
export const MAX_INTEGER = 2 ** 28;

export interface DecodeError {
  readonly error: HpackErrorCode;
  readonly detail: string;
}

const EMPTY = new Uint8Array(0);
/** Scratch up to this size is kept between strings; longer strings get their own, so idle decoders stay small. */
const KEEP_SCRATCH = 4096;

export class BlockReader {
  bytes: Uint8Array = EMPTY;
  pos = 0;
  /** Reused for Huffman output, up to KEEP_SCRATCH bytes. */
  private scratch: Uint8Array = EMPTY;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
  }

  /** Releases the block so the reader does not keep it alive between calls. */
  release(): void {
    this.bytes = EMPTY;
  }

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /**
   * The integer whose prefix is the low `prefixBits` bits of the byte at pos
   * (section 5.1); INT_TRUNCATED or INT_OVERFLOW instead when it cannot be read.
   */
  integer(prefixBits: number): number {
    const bytes = this.bytes;
    const end = bytes.length;
    if (this.pos >= end) return INT_TRUNCATED;
    const max = (1 << prefixBits) - 1;
    let value = bytes[this.pos++]! & max;
    if (value < max) return value;
    // Multiplication, not shifts: a value past 2^31 must not wrap before it is rejected.
    let scale = 1;
    for (;;) {
      if (this.pos >= end) return INT_TRUNCATED;
      const b = bytes[this.pos++]!;
      value += (b & 0x7f) * scale;
      if (value > MAX_INTEGER) return INT_OVERFLOW;
      if ((b & 0x80) === 0) return value;
      scale *= 128;
      // Zero continuation bytes keep the value small but must not run on forever.
      if (scale > MAX_INTEGER) return INT_OVERFLOW;
    }
  }

  /**
   * The string literal at pos (section 5.2), decoded as latin1. Lengths are
   * checked before any decoding, so a hostile length costs nothing.
   */
  string(maxLength: number): string | DecodeError {
    const huffman = this.pos < this.bytes.length && (this.bytes[this.pos]! & 0x80) !== 0;
    const length = this.integer(7);
    if (length < 0) return integerError(length, 'string length');
    const start = this.pos;
    const end = start + length;
    if (end > this.bytes.length) {
      return { error: 'truncated', detail: `string of ${length} octets, ${this.bytes.length - start} left` };
    }
    if (length > maxLength) return { error: 'string-too-long', detail: `${length} octets` };
    this.pos = end;
    if (!huffman) return latin1(this.bytes, start, end);
    const needed = huffmanScratchLength(length);
    if (this.scratch.length < needed && needed <= KEEP_SCRATCH) {
      this.scratch = new Uint8Array(Math.min(KEEP_SCRATCH, Math.max(needed, 256)));
    }
    const s = huffmanDecode(this.bytes, start, end, this.scratch);
    if (typeof s !== 'string') return { error: 'huffman', detail: s.reason };
    // The Huffman form of a string may be up to 8/5 longer once decoded.
    if (s.length > maxLength) return { error: 'string-too-long', detail: `${s.length} octets decoded` };
    return s;
  }
}

export function integerError(code: number, what: string): DecodeError {
  return code === INT_TRUNCATED
    ? { error: 'truncated', detail: `block ends inside ${what}` }
    : { error: 'integer-overflow', detail: `${what} above ${MAX_INTEGER}` };
}
