/**
 * How a message body is delimited (RFC 9112 section 6.3), decided from the
 * head and, for a response, the request method.
 */
import type { Header } from '../types.js';
import type { LineError } from './startLine.js';

/**
 * `none`: no body; `length`: `length` bytes; `chunked`; `eof`: until the
 * connection closes; `lost`: unknown, the head was cut by uncaptured bytes.
 */
export type BodyKind = 'none' | 'length' | 'chunked' | 'eof' | 'lost';

/**
 * What the direction does once the message is complete: read the `next`
 * message, `pause` until the response says whether the connection was
 * upgraded, or stop parsing because it became a `tunnel`.
 */
export type AfterMessage = 'next' | 'pause' | 'tunnel';

export interface Framing {
  readonly kind: BodyKind;
  readonly length: number;
  readonly after: AfterMessage;
}

export const NO_BODY: Framing = { kind: 'none', length: 0, after: 'next' };
export const LOST_BODY: Framing = { kind: 'lost', length: 0, after: 'next' };
const TUNNEL: Framing = { kind: 'none', length: 0, after: 'tunnel' };
const CHUNKED: Framing = { kind: 'chunked', length: 0, after: 'next' };
const UNTIL_EOF: Framing = { kind: 'eof', length: 0, after: 'next' };

/** 2^53 has 16 digits: 15 keep every length exact. */
const MAX_LENGTH_DIGITS = 15;
const NO_LENGTH = -1;
const COMMA = 0x2c;

/**
 * The Content-Length all values agree on, NO_LENGTH without any, or an
 * error. A value may be a list ("42, 42") as RFC 9110 section 8.6 allows.
 */
function contentLength(headers: readonly Header[]): number | LineError {
  let length = NO_LENGTH;
  for (const [name, value] of headers) {
    if (name !== 'content-length') continue;
    let digits = 0;
    let n = 0;
    // One extra round at the end closes the last list element.
    for (let i = 0; i <= value.length; i++) {
      const c = i < value.length ? value.charCodeAt(i) : COMMA;
      if (c >= 0x30 && c <= 0x39) {
        if (++digits > MAX_LENGTH_DIGITS) return badLength(value);
        n = n * 10 + (c - 0x30);
      } else if (c === COMMA) {
        if (digits === 0) return badLength(value);
        if (length !== NO_LENGTH && n !== length) return { code: 'bad-content-length', detail: 'conflicting values' };
        length = n;
        digits = 0;
        n = 0;
      } else if ((c !== 0x20 && c !== 0x09) || (digits > 0 && !isListSpace(value, i))) return badLength(value);
    }
  }
  return length;
}

/** Whether value[i], a space after digits, is only followed by spaces up to a comma or the end. */
function isListSpace(value: string, i: number): boolean {
  let k = i;
  while (k < value.length && (value.charCodeAt(k) === 0x20 || value.charCodeAt(k) === 0x09)) k++;
  return k === value.length || value.charCodeAt(k) === COMMA;
}

function badLength(value: string): LineError {
  return { code: 'bad-content-length', detail: value.slice(0, 32) };
}

/** The last transfer coding named, lower-cased; undefined without Transfer-Encoding. */
function lastCoding(headers: readonly Header[]): string | undefined {
  let last: string | undefined;
  for (const [name, value] of headers) {
    if (name !== 'transfer-encoding') continue;
    const codings = value.split(',').filter((c) => c.trim() !== '');
    last = (codings[codings.length - 1] ?? '').trim().toLowerCase();
  }
  return last;
}

function hasHeader(headers: readonly Header[], wanted: string): boolean {
  for (const [name] of headers) if (name === wanted) return true;
  return false;
}

/** Framing of a request body: chunked wins over Content-Length; neither means no body. */
export function requestFraming(method: string, headers: readonly Header[]): Framing | LineError {
  // A CONNECT or Upgrade request may be followed by tunnelled bytes: wait
  // for the response before reading them as HTTP.
  const after: AfterMessage = method === 'CONNECT' || hasHeader(headers, 'upgrade') ? 'pause' : 'next';
  const coding = lastCoding(headers);
  if (coding !== undefined) {
    if (coding !== 'chunked') return { code: 'bad-transfer-encoding', detail: coding.slice(0, 32) };
    return after === 'next' ? CHUNKED : { kind: 'chunked', length: 0, after };
  }
  const length = contentLength(headers);
  if (typeof length !== 'number') return length;
  if (length <= 0) return after === 'next' ? NO_BODY : { kind: 'none', length: 0, after };
  return { kind: 'length', length, after };
}

/**
 * Framing of a response body. `method` is the request's, undefined when the
 * response has no known request.
 */
export function responseFraming(status: number, method: string | undefined, headers: readonly Header[]): Framing | LineError {
  if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) return TUNNEL;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return NO_BODY;
  const coding = lastCoding(headers);
  if (coding !== undefined) return coding === 'chunked' ? CHUNKED : UNTIL_EOF;
  const length = contentLength(headers);
  if (typeof length !== 'number') return length;
  if (length === NO_LENGTH) return UNTIL_EOF;
  return length === 0 ? NO_BODY : { kind: 'length', length, after: 'next' };
}
