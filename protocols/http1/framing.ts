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

/** Framing facts from one pass over the headers. */
interface FramingHeaders {
  /** Last transfer coding named, lower-cased; undefined without Transfer-Encoding. */
  lastCoding: string | undefined;
  /** Content-Length values as sent. */
  lengths: string[];
  upgrade: boolean;
}

function scan(headers: readonly Header[]): FramingHeaders {
  const facts: FramingHeaders = { lastCoding: undefined, lengths: [], upgrade: false };
  for (const [name, value] of headers) {
    if (name === 'content-length') facts.lengths.push(value);
    else if (name === 'transfer-encoding') {
      const codings = value.split(',').filter((c) => c.trim() !== '');
      facts.lastCoding = (codings[codings.length - 1] ?? '').trim().toLowerCase();
    } else if (name === 'upgrade') facts.upgrade = true;
  }
  return facts;
}

/**
 * The single Content-Length the values agree on, -1 without any, or an
 * error. A value may be a list ("42, 42") as RFC 9110 section 8.6 allows.
 */
function contentLength(values: readonly string[]): number | LineError {
  let length = -1;
  for (const value of values) {
    for (const item of value.split(',')) {
      const digits = item.trim();
      if (digits.length === 0 || digits.length > MAX_LENGTH_DIGITS || !/^[0-9]+$/.test(digits)) {
        return { code: 'bad-content-length', detail: value.slice(0, 32) };
      }
      const n = Number(digits);
      if (length >= 0 && n !== length) return { code: 'bad-content-length', detail: 'conflicting values' };
      length = n;
    }
  }
  return length;
}

function sized(length: number, after: AfterMessage): Framing {
  return length === 0 && after === 'next' ? NO_BODY : { kind: length === 0 ? 'none' : 'length', length, after };
}

/** Framing of a request body: chunked wins over Content-Length; neither means no body. */
export function requestFraming(method: string, headers: readonly Header[]): Framing | LineError {
  const facts = scan(headers);
  // A CONNECT or Upgrade request may be followed by tunnelled bytes: wait
  // for the response before reading them as HTTP.
  const after: AfterMessage = method === 'CONNECT' || facts.upgrade ? 'pause' : 'next';
  if (facts.lastCoding !== undefined) {
    if (facts.lastCoding !== 'chunked') return { code: 'bad-transfer-encoding', detail: facts.lastCoding.slice(0, 32) };
    return after === 'next' ? CHUNKED : { kind: 'chunked', length: 0, after };
  }
  const length = contentLength(facts.lengths);
  if (typeof length !== 'number') return length;
  return sized(Math.max(length, 0), after);
}

/**
 * Framing of a response body. `method` is the request's, undefined when the
 * response has no known request.
 */
export function responseFraming(status: number, method: string | undefined, headers: readonly Header[]): Framing | LineError {
  if (status === 101 || (method === 'CONNECT' && status >= 200 && status < 300)) return TUNNEL;
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return NO_BODY;
  const facts = scan(headers);
  if (facts.lastCoding !== undefined) return facts.lastCoding === 'chunked' ? CHUNKED : UNTIL_EOF;
  const length = contentLength(facts.lengths);
  if (typeof length !== 'number') return length;
  return length < 0 ? UNTIL_EOF : sized(length, 'next');
}
