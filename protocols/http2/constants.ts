/** HTTP/2 wire constants (RFC 9113). */

export const FRAME_HEADER_BYTES = 9;

export const FrameType = {
  Data: 0x0,
  Headers: 0x1,
  Priority: 0x2,
  RstStream: 0x3,
  Settings: 0x4,
  PushPromise: 0x5,
  Ping: 0x6,
  GoAway: 0x7,
  WindowUpdate: 0x8,
  Continuation: 0x9,
} as const;

export const Flag = {
  EndStream: 0x1,
  Ack: 0x1,
  EndHeaders: 0x4,
  Padded: 0x8,
  Priority: 0x20,
} as const;

/** SETTINGS identifiers the parser cares about. */
export const Setting = {
  HeaderTableSize: 0x1,
  MaxFrameSize: 0x5,
} as const;

/** "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n": what a client sends first. */
export const CLIENT_PREFACE = new Uint8Array([
  0x50, 0x52, 0x49, 0x20, 0x2a, 0x20, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x32, 0x2e, 0x30, 0x0d, 0x0a, 0x0d, 0x0a, 0x53, 0x4d, 0x0d,
  0x0a, 0x0d, 0x0a,
]);

/** SETTINGS_MAX_FRAME_SIZE bounds (section 6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16384;
export const LARGEST_MAX_FRAME_SIZE = 16777215;
