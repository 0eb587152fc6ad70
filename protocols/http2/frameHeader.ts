/**
 * The 9-byte frame header, and whether bytes of unknown position look like
 * one: used to join a connection midway and to find the frames again after
 * bytes were lost.
 */
import { DEFAULT_MAX_FRAME_SIZE, FRAME_HEADER_BYTES, Flag, FrameType } from './constants.js';

export interface FrameHeader {
  readonly length: number;
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
}

export function readFrameHeader(b: Uint8Array, p: number): FrameHeader {
  return {
    length: (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!,
    type: b[p + 3]!,
    flags: b[p + 4]!,
    // The reserved top bit is ignored on receipt (section 4.1).
    streamId: ((b[p + 5]! & 0x7f) * 0x1000000 + (b[p + 6]! << 16) + (b[p + 7]! << 8) + b[p + 8]!) >>> 0,
  };
}

/** Flags each frame type defines; others must be zero in frames we believe in. */
const DEFINED_FLAGS: readonly number[] = [
  Flag.EndStream | Flag.Padded, // DATA
  Flag.EndStream | Flag.EndHeaders | Flag.Padded | Flag.Priority, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  Flag.Ack, // SETTINGS
  Flag.EndHeaders | Flag.Padded, // PUSH_PROMISE
  Flag.Ack, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  Flag.EndHeaders, // CONTINUATION
];

/**
 * Could this be a real frame header? Strict on purpose: the types, flags,
 * stream ids and lengths a conforming peer sends. `maxFrameSize` is the
 * largest payload the receiver allowed (SETTINGS_MAX_FRAME_SIZE).
 */
export function plausibleFrameHeader(h: FrameHeader, maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE): boolean {
  if (h.type > FrameType.Continuation || h.length > maxFrameSize) return false;
  if ((h.flags & ~DEFINED_FLAGS[h.type]!) !== 0) return false;
  switch (h.type) {
    case FrameType.Data:
    case FrameType.Headers:
    case FrameType.Continuation:
      return h.streamId !== 0;
    case FrameType.Priority:
      return h.streamId !== 0 && h.length === 5;
    case FrameType.RstStream:
      return h.streamId !== 0 && h.length === 4;
    case FrameType.Settings:
      return h.streamId === 0 && h.length % 6 === 0 && (h.flags === 0 || h.length === 0);
    case FrameType.PushPromise:
      return h.streamId !== 0 && h.length >= 4;
    case FrameType.Ping:
      return h.streamId === 0 && h.length === 8;
    case FrameType.GoAway:
      return h.streamId === 0 && h.length >= 8;
    case FrameType.WindowUpdate:
      return h.length === 4;
    default:
      return false;
  }
}

/** Two plausible headers in a row (or one that ends exactly at a known boundary). */
export function frameChainAt(b: Uint8Array, p: number, to: number, endIsBoundary: boolean, maxFrameSize: number): boolean {
  if (p + FRAME_HEADER_BYTES > to) return false;
  const first = readFrameHeader(b, p);
  if (!plausibleFrameHeader(first, maxFrameSize)) return false;
  const next = p + FRAME_HEADER_BYTES + first.length;
  if (next === to) return endIsBoundary;
  if (next + FRAME_HEADER_BYTES > to) return false;
  return plausibleFrameHeader(readFrameHeader(b, next), maxFrameSize);
}
