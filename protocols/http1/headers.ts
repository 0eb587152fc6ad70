/**
 * Header field lines (RFC 9112 section 5) into Header tuples.
 */
import type { Header } from '../types.js';
import { COLON, HT, SP, findLf, latin1, lineEnd } from './bytes.js';
import { TCHAR } from './methods.js';
import type { LineError } from './startLine.js';

const DEL = 0x7f;

/**
 * Parses field lines from bytes[from, to) into `out` until the empty line or
 * `to`. With `partial` (a head cut by uncaptured bytes) a last line without
 * its LF is ignored and the first bad line ends parsing without an error.
 *
 * Names are lower-cased and values trimmed of OWS. An obs-fold line is
 * joined to the previous value with one SP, as RFC 9112 section 5.2 lets a
 * recipient do, rather than failing a message a server may have accepted.
 */
export function parseHeaderLines(
  bytes: Uint8Array,
  from: number,
  to: number,
  maxHeaders: number,
  partial: boolean,
  out: Header[],
): LineError | undefined {
  let p = from;
  while (p < to) {
    let lf = findLf(bytes, p, to);
    if (lf < 0) {
      if (partial) return undefined;
      lf = to;
    }
    const e = lineEnd(bytes, p, lf);
    if (e === p) return undefined;
    const error = parseLine(bytes, p, e, maxHeaders, out);
    if (error !== undefined) return partial ? undefined : error;
    p = lf + 1;
  }
  return undefined;
}

function parseLine(bytes: Uint8Array, p: number, e: number, maxHeaders: number, out: Header[]): LineError | undefined {
  const first = bytes[p];
  if (first === SP || first === HT) {
    const last = out.length - 1;
    const prev = out[last];
    if (prev === undefined) return { code: 'bad-header', detail: 'fold before any field' };
    const value = fieldValue(bytes, p, e);
    if (value === undefined) return { code: 'bad-header', detail: 'control byte in value' };
    out[last] = [prev[0], prev[1] === '' ? value : value === '' ? prev[1] : `${prev[1]} ${value}`];
    return undefined;
  }
  let i = p;
  while (i < e && TCHAR[bytes[i] ?? 0] === 1) i++;
  if (i === p || i === e || bytes[i] !== COLON) return { code: 'bad-header', detail: 'field name' };
  const value = fieldValue(bytes, i + 1, e);
  if (value === undefined) return { code: 'bad-header', detail: 'control byte in value' };
  if (out.length >= maxHeaders) return { code: 'too-many-headers', detail: `more than ${maxHeaders}` };
  out.push([latin1(bytes, p, i).toLowerCase(), value]);
  return undefined;
}

/** The OWS-trimmed value in bytes[s, e), or undefined if it holds a control byte (NUL, bare CR...). */
function fieldValue(bytes: Uint8Array, s: number, e: number): string | undefined {
  while (s < e && (bytes[s] === SP || bytes[s] === HT)) s++;
  while (e > s && (bytes[e - 1] === SP || bytes[e - 1] === HT)) e--;
  for (let k = s; k < e; k++) {
    const c = bytes[k] ?? 0;
    if ((c < SP && c !== HT) || c === DEL) return undefined;
  }
  return latin1(bytes, s, e);
}
