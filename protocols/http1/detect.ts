/**
 * Is this the start of HTTP/1? Run on the first chunk of every connection,
 * to learn which side is the client and to stop capturing other protocols.
 */
import { findLf, lineEnd } from './bytes.js';
import { DEFAULT_LIMITS } from './limits.js';
import { commonMethod } from './methods.js';
import { matchRequestStart, matchResponseStart, parseRequestLine } from './startLine.js';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;

export type Http1Detection = 'request' | 'response' | 'no' | 'more';

/** Empty lines tolerated before a message (RFC 9112 section 2.2 asks servers to ignore one). */
const MAX_LEADING_EMPTY_BYTES = 4;
/** A request line longer than this is not believed. */
const MAX_LINE = DEFAULT_LIMITS.maxTargetLength + 64;

/**
 * Classifies the first bytes of a direction with the parser's rules for
 * finding a message in unknown bytes: a status line "HTTP/1.x NNN", or a
 * common method and a space, or an upper-case method of 3 to 20 letters
 * whose target starts with "/", "*" or "http"; a complete first line must
 * also be a valid request line. 'more' means the bytes so far fit but do
 * not decide.
 */
export function detectHttp1(bytes: Uint8Array): Http1Detection {
  const to = bytes.length;
  let p = 0;
  while (p < to && (bytes[p] === CR || bytes[p] === LF)) p++;
  if (p > MAX_LEADING_EMPTY_BYTES) return 'no';
  if (p === to) return 'more';
  const response = matchResponseStart(bytes, p, to);
  if (response === 'yes') return 'response';
  const request = matchRequestStart(bytes, p, to, true);
  if (request === 'no') return response;
  const lf = findLf(bytes, p, to);
  if (lf >= 0) {
    const line = parseRequestLine(bytes, p, lineEnd(bytes, p, lf), true, DEFAULT_LIMITS.maxTargetLength);
    return 'code' in line ? 'no' : 'request';
  }
  const sp = bytes.indexOf(SP, p);
  if (sp > p && commonMethod(bytes, p, sp) !== undefined) return 'request';
  return to - p > MAX_LINE ? 'no' : 'more';
}
