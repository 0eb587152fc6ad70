/**
 * Line scanning and the one string decoder the HTTP/1 parser uses.
 */
import { Buffer } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;

// Buffer's native latin1 decoder accepts any Uint8Array as `this` and is
// several times faster than TextDecoder for the short strings of a head.
const latin1Slice = (
  Buffer.prototype as unknown as { latin1Slice(this: Uint8Array, start: number, end: number): string }
).latin1Slice;

/** Decodes bytes[start, end) one byte per character; needs end <= bytes.length. */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  return latin1Slice.call(bytes, start, end);
}

/**
 * Index just past the empty line that ends a head in bytes[from, to), or -1.
 * Lines may end in CRLF or a bare LF (RFC 9112 section 2.2 lets recipients accept it).
 */
export function findHeadEnd(bytes: Uint8Array, from: number, to: number): number {
  let i = bytes.indexOf(LF, from);
  while (i >= 0 && i < to) {
    const next = i + 1;
    if (next < to) {
      const c = bytes[next];
      if (c === LF) return next + 1;
      if (c === CR && next + 1 < to && bytes[next + 1] === LF) return next + 2;
    }
    i = bytes.indexOf(LF, next);
  }
  return -1;
}

/** Index of the first LF in bytes[from, to), or -1. */
export function findLf(bytes: Uint8Array, from: number, to: number): number {
  const i = bytes.indexOf(LF, from);
  return i >= 0 && i < to ? i : -1;
}

/** End of the line content ending at the LF at `lf` (drops one CR before it). */
export function lineEnd(bytes: Uint8Array, start: number, lf: number): number {
  return lf > start && bytes[lf - 1] === CR ? lf - 1 : lf;
}
