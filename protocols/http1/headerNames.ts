/**
 * Lower-cased header names as shared strings. Most names on the wire are a
 * few dozen common ones: matching their bytes case-insensitively is cheaper
 * than decoding and lower-casing a new string for every field.
 */
import type { Header } from '../types.js';
import { latin1 } from './bytes.js';

const COMMON_NAMES = [
  'accept',
  'accept-encoding',
  'accept-language',
  'accept-ranges',
  'access-control-allow-origin',
  'age',
  'authorization',
  'cache-control',
  'connection',
  'content-disposition',
  'content-encoding',
  'content-length',
  'content-type',
  'cookie',
  'date',
  'etag',
  'expect',
  'expires',
  'forwarded',
  'host',
  'if-modified-since',
  'if-none-match',
  'keep-alive',
  'last-modified',
  'link',
  'location',
  'origin',
  'pragma',
  'proxy-authorization',
  'range',
  'referer',
  'server',
  'set-cookie',
  'strict-transport-security',
  'te',
  'traceparent',
  'tracestate',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'user-agent',
  'vary',
  'via',
  'www-authenticate',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-powered-by',
  'x-request-id',
];

/** Values of a common name kept for reuse: a few per name, short ones only. */
const RECENT_PER_NAME = 8;
const MAX_REUSED_VALUE = 256;

/**
 * A common name, and the fields with it seen last. Most fields repeat from
 * one message to the next (the same Host, User-Agent, Content-Type, Date
 * for a second): handing back the field already made for the same bytes
 * saves a string and a tuple per field, which were a seventh of what was
 * allocated per traced request. Fields are immutable, so sharing is safe,
 * and the parsers stay pure: this is a cache, whose contents never change
 * what a parse returns.
 * Bounded: RECENT_PER_NAME fields of at most MAX_REUSED_VALUE bytes each.
 */
export class CommonName {
  private readonly recent: Header[] = [];
  private next = 0;
  /** Where the field returned last is: looked at first, as a value mostly repeats the one before. */
  private last = 0;

  constructor(
    readonly name: string,
    readonly bytes: Uint8Array,
  ) {}

  /** The field of this name whose value is bytes[from, to) (already trimmed). */
  field(bytes: Uint8Array, from: number, to: number): Header {
    const n = to - from;
    if (n > MAX_REUSED_VALUE) return [this.name, latin1(bytes, from, to)];
    const recent = this.recent;
    const count = recent.length;
    for (let j = 0, r = this.last; j < count; j++, r = r + 1 === count ? 0 : r + 1) {
      const f = recent[r]!;
      if (sameLatin1(f[1], bytes, from, n)) {
        this.last = r;
        return f;
      }
    }
    const f: Header = [this.name, latin1(bytes, from, to)];
    if (count < RECENT_PER_NAME) {
      this.last = count;
      recent.push(f);
    } else {
      this.last = this.next;
      recent[this.next] = f;
      this.next = (this.next + 1) % RECENT_PER_NAME;
    }
    return f;
  }
}

/**
 * Does `s` (one char per byte, as latin1 decodes) equal bytes[from, from + n)?
 * From the end: values of one name that differ mostly differ there (a
 * Date's seconds, a Content-Length's digits), after a long common prefix.
 */
function sameLatin1(s: string, bytes: Uint8Array, from: number, n: number): boolean {
  if (s.length !== n) return false;
  for (let i = n - 1; i >= 0; i--) if (s.charCodeAt(i) !== bytes[from + i]) return false;
  return true;
}

/** Common names by length. */
const BY_LENGTH: CommonName[][] = [];
for (const name of COMMON_NAMES) {
  const list = (BY_LENGTH[name.length] ??= []);
  list.push(new CommonName(name, Uint8Array.from(name, (ch) => ch.charCodeAt(0))));
}

/** ASCII letters fold to lower case with 0x20; the other tchars in names here are '-' only. */
const LOWER = 0x20;

/** The common name in bytes[from, to) (tchars only, any case), if it is one. */
export function commonName(bytes: Uint8Array, from: number, to: number): CommonName | undefined {
  const candidates = BY_LENGTH[to - from];
  if (candidates !== undefined) {
    for (const known of candidates) {
      const k = known.bytes;
      let i = 0;
      while (i < k.length && ((bytes[from + i] ?? 0) | LOWER) === k[i]) i++;
      if (i === k.length) return known;
    }
  }
  return undefined;
}

/** The lower-cased name in bytes[from, to), which holds tchars only. */
export function headerName(bytes: Uint8Array, from: number, to: number): string {
  return commonName(bytes, from, to)?.name ?? latin1(bytes, from, to).toLowerCase();
}
