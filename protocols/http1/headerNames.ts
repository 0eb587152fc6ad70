/**
 * Lower-cased header names as shared strings. Most names on the wire are a
 * few dozen common ones: matching their bytes case-insensitively is cheaper
 * than decoding and lower-casing a new string for every field.
 */
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

interface Known {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** Common names by length. */
const BY_LENGTH: Known[][] = [];
for (const name of COMMON_NAMES) {
  const list = (BY_LENGTH[name.length] ??= []);
  list.push({ name, bytes: Uint8Array.from(name, (ch) => ch.charCodeAt(0)) });
}

/** ASCII letters fold to lower case with 0x20; the other tchars in names here are '-' only. */
const LOWER = 0x20;

/** The lower-cased name in bytes[from, to), which holds tchars only. */
export function headerName(bytes: Uint8Array, from: number, to: number): string {
  const candidates = BY_LENGTH[to - from];
  if (candidates !== undefined) {
    for (const known of candidates) {
      const k = known.bytes;
      let i = 0;
      while (i < k.length && ((bytes[from + i] ?? 0) | LOWER) === k[i]) i++;
      if (i === k.length) return known.name;
    }
  }
  return latin1(bytes, from, to).toLowerCase();
}
