/**
 * Request lines and status lines (RFC 9112 sections 3 and 4): recognising
 * their first bytes cheaply, and parsing a whole line.
 */
import { latin1 } from './bytes.js';
import { commonMethod, tokenCharTable } from './methods.js';

/** Whether bytes can start a message: 'more' means all bytes so far fit. */
export type StartMatch = 'yes' | 'no' | 'more';

export interface RequestLine {
  readonly method: string;
  readonly target: string;
  readonly protocol: string;
}

export interface StatusLine {
  readonly status: number;
}

export interface LineError {
  readonly code: string;
  readonly detail: string;
}

/** Bound on any method token: real ones are short, and it lets garbage fail early. */
const MAX_METHOD = 32;
/** Longest method token accepted when hunting for a request start. */
const MAX_SEEK_METHOD = 20;
/** Shortest unknown method token accepted when hunting for a request start. */
const MIN_SEEK_METHOD = 3;

const TCHAR = tokenCharTable();
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const H = 0x48;
const T = 0x54;
const P = 0x50;
const SLASH = 0x2f;
const STAR = 0x2a;
const ONE = 0x31;
const DOT = 0x2e;
const LOWER_H = 0x68;
const LOWER_T = 0x74;
const LOWER_P = 0x70;
const DEL = 0x7f;
const HTTP_1_DOT = [H, T, T, P, SLASH, ONE, DOT];
const HTTP_LOWER = [LOWER_H, LOWER_T, LOWER_T, LOWER_P];

function isUpper(c: number | undefined): boolean {
  return c !== undefined && c >= 0x41 && c <= 0x5a;
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function isVisible(c: number | undefined): boolean {
  return c !== undefined && c > SP && c !== DEL;
}

/**
 * Could bytes[from, to) start a request line? `strict` applies the rules for
 * hunting in bytes that may be a body: a common method, or an upper-case
 * token of 3 to 20 letters whose target starts with "/", "*" or "http" (the
 * caller checks the " HTTP/1.x" ending once the line is complete). Otherwise
 * any token is a method, as RFC 9110 allows.
 */
export function matchRequestStart(bytes: Uint8Array, from: number, to: number, strict: boolean): StartMatch {
  const maxMethod = strict ? MAX_SEEK_METHOD : MAX_METHOD;
  const limit = Math.min(to, from + maxMethod + 1);
  let i = from;
  if (strict) while (i < limit && isUpper(bytes[i])) i++;
  else while (i < limit && TCHAR[bytes[i] ?? 0] === 1) i++;
  const n = i - from;
  if (i === to) return n <= maxMethod ? 'more' : 'no';
  if (bytes[i] !== SP || n === 0 || n > maxMethod) return 'no';
  const t = i + 1;
  if (t === to) return 'more';
  if (!strict || commonMethod(bytes, from, i) !== undefined) return isVisible(bytes[t]) ? 'yes' : 'no';
  if (n < MIN_SEEK_METHOD) return 'no';
  return matchTargetStart(bytes, t, to);
}

/** The start of a target an unknown method may have: "/", "*" or "http". */
function matchTargetStart(bytes: Uint8Array, from: number, to: number): StartMatch {
  const c = bytes[from];
  if (c === SLASH || c === STAR) return 'yes';
  for (let k = 0; k < HTTP_LOWER.length; k++) {
    if (from + k === to) return 'more';
    if (bytes[from + k] !== HTTP_LOWER[k]) return 'no';
  }
  return 'yes';
}

/** Could bytes[from, to) start a status line: "HTTP/1.x NNN" then SP, CR or LF? */
export function matchResponseStart(bytes: Uint8Array, from: number, to: number): StartMatch {
  for (let k = 0; k < 13; k++) {
    const p = from + k;
    if (p >= to) return 'more';
    const c = bytes[p];
    let ok: boolean;
    if (k < 7) ok = c === HTTP_1_DOT[k];
    else if (k === 7 || k === 10 || k === 11) ok = isDigit(c);
    else if (k === 8) ok = c === SP;
    else if (k === 9) ok = c !== undefined && c >= 0x31 && c <= 0x35;
    else ok = c === SP || c === CR || c === LF;
    if (!ok) return 'no';
  }
  return 'yes';
}

/** Parses "HTTP/1.d" at bytes[from, from + 8) and returns the minor digit, or -1. */
function httpOneMinor(bytes: Uint8Array, from: number): number {
  for (let k = 0; k < HTTP_1_DOT.length; k++) if (bytes[from + k] !== HTTP_1_DOT[k]) return -1;
  const d = bytes[from + 7];
  return d !== undefined && isDigit(d) ? d - 0x30 : -1;
}

function badLine(detail: string): LineError {
  return { code: 'bad-start-line', detail };
}

/**
 * Parses the request line in bytes[from, to) (without its line ending).
 * `strict` adds the method rules of matchRequestStart.
 */
export function parseRequestLine(
  bytes: Uint8Array,
  from: number,
  to: number,
  strict: boolean,
  maxTargetLength: number,
): RequestLine | LineError {
  let i = from;
  while (i < to && TCHAR[bytes[i] ?? 0] === 1) i++;
  if (i === from || i - from > MAX_METHOD || i === to || bytes[i] !== SP) return badLine('method');
  const known = commonMethod(bytes, from, i);
  const t = i + 1;
  let j = t;
  while (j < to && isVisible(bytes[j])) j++;
  if (j === t || j === to || bytes[j] !== SP) return badLine('target');
  if (j - t > maxTargetLength) return { code: 'target-too-long', detail: `${j - t} bytes` };
  if (strict && known === undefined && !isSeekableUnknownMethod(bytes, from, i, t, j)) return badLine('method');
  const minor = to - (j + 1) === 8 ? httpOneMinor(bytes, j + 1) : -1;
  if (minor < 0) return badLine('version');
  return {
    method: known ?? latin1(bytes, from, i),
    target: latin1(bytes, t, j),
    protocol: minor === 0 ? 'HTTP/1.0' : 'HTTP/1.1',
  };
}

function isSeekableUnknownMethod(bytes: Uint8Array, from: number, to: number, target: number, targetEnd: number): boolean {
  const n = to - from;
  if (n < MIN_SEEK_METHOD || n > MAX_SEEK_METHOD) return false;
  for (let k = from; k < to; k++) if (!isUpper(bytes[k])) return false;
  return matchTargetStart(bytes, target, targetEnd) === 'yes';
}

/** Parses the status line in bytes[from, to) (without its line ending). */
export function parseStatusLine(bytes: Uint8Array, from: number, to: number): StatusLine | LineError {
  if (to - from < 12 || httpOneMinor(bytes, from) < 0 || bytes[from + 8] !== SP) return badLine('version');
  const a = bytes[from + 9];
  const b = bytes[from + 10];
  const c = bytes[from + 11];
  if (a === undefined || b === undefined || c === undefined || !isDigit(a) || !isDigit(b) || !isDigit(c)) {
    return badLine('status');
  }
  const status = (a - 0x30) * 100 + (b - 0x30) * 10 + (c - 0x30);
  if (status < 100 || status > 599) return badLine('status');
  // The reason phrase is not kept, so only its separator is checked.
  if (to - from > 12 && bytes[from + 12] !== SP) return badLine('status');
  return { status };
}
