/** Test helpers: HTTP/2 frames and simple HPACK blocks, built by hand for cases no real peer sends. */
import { CLIENT_PREFACE } from '../../../protocols/http2/constants.js';

export { CLIENT_PREFACE };

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number[] = []): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >>> 16) & 0xff;
  out[1] = (p.length >>> 8) & 0xff;
  out[2] = p.length & 0xff;
  out[3] = type;
  out[4] = flags;
  out[5] = (streamId >>> 24) & 0x7f;
  out[6] = (streamId >>> 16) & 0xff;
  out[7] = (streamId >>> 8) & 0xff;
  out[8] = streamId & 0xff;
  out.set(p, 9);
  return out;
}

/** An HPACK integer with an n-bit prefix (RFC 7541 5.1), first byte or-ed with `high`. */
function integer(value: number, n: number, high: number): number[] {
  const max = (1 << n) - 1;
  if (value < max) return [high | value];
  const out = [high | max];
  let v = value - max;
  while (v >= 128) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function str(s: string): number[] {
  const b = [...Buffer.from(s, 'latin1')];
  return [...integer(b.length, 7, 0), ...b];
}

/** Literal header field without indexing, new name (RFC 7541 6.2.2). */
export function literal(name: string, value: string): number[] {
  return [0x00, ...str(name), ...str(value)];
}

/** Literal with incremental indexing, new name (6.2.1): the field enters the dynamic table. */
export function indexedLiteral(name: string, value: string): number[] {
  return [0x40, ...str(name), ...str(value)];
}

/** Indexed header field (6.1). */
export function indexed(index: number): number[] {
  return integer(index, 7, 0x80);
}

export function block(...fields: number[][]): Uint8Array {
  return new Uint8Array(fields.flat());
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

export const settings = (): Uint8Array => frame(0x4, 0, 0);
