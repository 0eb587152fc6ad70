/**
 * What protocol a connection speaks, from the first bytes seen in one
 * direction, and whether their sender is the client or the server. Run on
 * the first chunks of every connection (ARCHITECTURE: only HTTP is parsed;
 * everything else is ignored, and the kernel stops copying it).
 */
import { CLIENT_PREFACE, DEFAULT_MAX_FRAME_SIZE, FrameType } from './http2/constants.js';
import { frameChainAt, readFrameHeader } from './http2/frameHeader.js';
import { requestSideOf } from './http2/peekHeaders.js';
import { detectHttp1 } from './http1/detect.js';

export type Detection =
  | { readonly protocol: 'http1' | 'http2'; readonly sender: 'client' | 'server'; readonly midway: boolean }
  | 'more'
  | 'no';

const HTTP1_CLIENT: Detection = { protocol: 'http1', sender: 'client', midway: false };
const HTTP1_SERVER: Detection = { protocol: 'http1', sender: 'server', midway: false };
const H2_CLIENT: Detection = { protocol: 'http2', sender: 'client', midway: false };
const H2_SERVER: Detection = { protocol: 'http2', sender: 'server', midway: false };

/**
 * `whole`: the bytes are all of what was sent (nothing uncaptured), so a
 * frame ending exactly at their end is a boundary. `midway`: the
 * connection may have started before we looked, so HTTP/2 frames with no
 * preface count too.
 */
export function detectProtocol(bytes: Uint8Array, whole: boolean, midway: boolean): Detection {
  const preface = matchPreface(bytes);
  if (preface === 'yes') return H2_CLIENT;
  if (preface === 'more') return 'more';
  // A server speaks first with SETTINGS, before it has read the preface.
  if (bytes.length >= 9 && readFrameHeader(bytes, 0).type === FrameType.Settings && frameChainAt(bytes, 0, bytes.length, whole, DEFAULT_MAX_FRAME_SIZE)) {
    return H2_SERVER;
  }
  const http1 = detectHttp1(bytes);
  if (http1 === 'request') return HTTP1_CLIENT;
  if (http1 === 'response') return HTTP1_SERVER;
  if (midway) {
    const h2 = detectHttp2Midway(bytes, whole);
    if (h2 !== 'no') return h2;
  }
  return http1;
}

function matchPreface(bytes: Uint8Array): 'yes' | 'no' | 'more' {
  const n = Math.min(bytes.length, CLIENT_PREFACE.length);
  if (n === 0) return 'more';
  for (let i = 0; i < n; i++) if (bytes[i] !== CLIENT_PREFACE[i]) return 'no';
  return n === CLIENT_PREFACE.length ? 'yes' : 'more';
}

/**
 * Frames of a running connection: a chain of plausible frame headers at
 * the start (writes start with a frame), and a header block among them
 * that says which side sent it (:method or :path from a client, :status
 * from a server), read through the static table and literals only.
 */
function detectHttp2Midway(bytes: Uint8Array, whole: boolean): Detection | 'no' | 'more' {
  if (!frameChainAt(bytes, 0, bytes.length, whole, DEFAULT_MAX_FRAME_SIZE)) return 'no';
  const side = requestSideOf(bytes);
  if (side === 'request') return { protocol: 'http2', sender: 'client', midway: true };
  if (side === 'response') return { protocol: 'http2', sender: 'server', midway: true };
  return 'more';
}
