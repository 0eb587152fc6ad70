/**
 * Which side sent a run of HTTP/2 frames of unknown origin: the first
 * header block that can be read with no HPACK history tells, by its
 * pseudo-headers.
 */
import { FRAME_HEADER_BYTES, Flag, FrameType } from './constants.js';
import { readFrameHeader } from './frameHeader.js';
import { HpackDecoder } from './hpack/index.js';

export function requestSideOf(bytes: Uint8Array): 'request' | 'response' | 'unknown' {
  let p = 0;
  // Bounded: every frame advances by at least its header.
  while (p + FRAME_HEADER_BYTES <= bytes.length) {
    const h = readFrameHeader(bytes, p);
    const start = p + FRAME_HEADER_BYTES;
    const end = start + h.length;
    if (end > bytes.length) return 'unknown';
    if (h.type === FrameType.Headers && h.flags & Flag.EndHeaders) {
      let from = start;
      let to = end;
      if (h.flags & Flag.Padded) {
        to -= bytes[start]!;
        from++;
      }
      if (h.flags & Flag.Priority) from += 5;
      if (from <= to) {
        const result = new HpackDecoder({ midway: true }).decode(bytes.subarray(from, to));
        if (result.ok) {
          for (const [name] of result.headers) {
            if (name === ':method' || name === ':path' || name === ':scheme') return 'request';
            if (name === ':status') return 'response';
          }
          for (const f of result.unknown) {
            if (f.name === ':method' || f.name === ':path' || f.name === ':scheme') return 'request';
            if (f.name === ':status') return 'response';
          }
        }
      }
    }
    p = end;
  }
  return 'unknown';
}
