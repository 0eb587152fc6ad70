/**
 * Header field lines (RFC 9112 section 5) into Header tuples.
 */
import type { Header } from '../types.js';
import { latin1 } from './bytes.js';
import { commonName, type CommonName } from './headerNames.js';
import { tokenCharTable } from './methods.js';
import type { LineError } from './startLine.js';

const HT = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const COLON = 0x3a;
const DEL = 0x7f;
const TCHAR = tokenCharTable();

/**
 * Fields as parseHeaderLines reads them, in a list kept from head to head:
 * a new [] per head grew room for 17 on its first field (~150 bytes, twice
 * per request), where take() copies out exactly the fields read. Bounded:
 * it holds at most maxHeaders fields (those of the last head, until
 * overwritten).
 */
export class FieldList {
  private readonly items: Header[] = [];
  length = 0;

  reset(): void {
    this.length = 0;
  }

  push(field: Header): void {
    if (this.length < this.items.length) this.items[this.length] = field;
    else this.items.push(field);
    this.length++;
  }

  last(): Header | undefined {
    return this.length === 0 ? undefined : this.items[this.length - 1];
  }

  replaceLast(field: Header): void {
    this.items[this.length - 1] = field;
  }

  /** The fields read, as a list of their own. */
  take(): Header[] {
    return this.items.slice(0, this.length);
  }
}

/** What parseHeaderLines returns when `to` comes before the empty line. */
export const INCOMPLETE = -1;

/**
 * Parses field lines from bytes[from, to) into `out` (reset first) up to the empty line
 * that ends the head, and returns the index just past it; INCOMPLETE if
 * `to` comes first (the lines before it are in `out`), or an error.
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
  out: FieldList,
): number | LineError {
  let p = from;
  while (p < to) {
    const first = bytes[p];
    if (first === LF) return p + 1;
    if (first === CR) {
      if (p + 1 === to) return INCOMPLETE;
      if (bytes[p + 1] === LF) return p + 2;
    }
    let valueStart: number;
    let name: string | undefined;
    let known: CommonName | undefined;
    if (first === SP || first === HT) valueStart = p;
    else {
      let i = p;
      while (i < to && TCHAR[bytes[i] ?? 0] === 1) i++;
      if (i === to) return INCOMPLETE;
      if (i === p || bytes[i] !== COLON) return { code: 'bad-header', detail: 'field name' };
      if (out.length >= maxHeaders) return { code: 'too-many-headers', detail: `more than ${maxHeaders}` };
      known = commonName(bytes, p, i);
      name = known === undefined ? latin1(bytes, p, i).toLowerCase() : known.name;
      valueStart = i + 1;
    }
    // One pass finds the line end and checks the value has no control bytes (NUL, bare CR...).
    let k = valueStart;
    let c = 0;
    while (k < to) {
      c = bytes[k] ?? 0;
      if (c < SP ? c !== HT : c === DEL) break;
      k++;
    }
    let lf: number;
    if (k === to || (c === CR && k + 1 === to)) return INCOMPLETE;
    if (c === LF) lf = k;
    else if (c === CR && bytes[k + 1] === LF) lf = k + 1;
    else return { code: 'bad-header', detail: 'control byte in value' };
    let s = valueStart;
    let e = k;
    while (s < e && (bytes[s] === SP || bytes[s] === HT)) s++;
    while (e > s && (bytes[e - 1] === SP || bytes[e - 1] === HT)) e--;
    if (known !== undefined) out.push(known.field(bytes, s, e));
    else if (name !== undefined) out.push([name, latin1(bytes, s, e)]);
    else {
      const value = latin1(bytes, s, e);
      const prev = out.last();
      if (prev === undefined) return { code: 'bad-header', detail: 'fold before any field' };
      out.replaceLast([prev[0], prev[1] === '' ? value : value === '' ? prev[1] : `${prev[1]} ${value}`]);
    }
    p = lf + 1;
  }
  return INCOMPLETE;
}
