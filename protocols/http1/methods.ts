/**
 * Request methods: what may be a method (an RFC 9110 token), and which
 * methods are common enough to trust when looking for a request in bytes
 * that may be the middle of a body.
 */

/** tchar per RFC 9110 section 5.6.2, indexed by byte. */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

export const COMMON_METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
] as const;

const COMMON_BYTES = COMMON_METHODS.map((m) => ({ name: m, bytes: Uint8Array.from(m, (ch) => ch.charCodeAt(0)) }));

/**
 * The common method spelled by bytes[from, to), or undefined. Returns the
 * shared string so that common methods cost no allocation.
 */
export function commonMethod(bytes: Uint8Array, from: number, to: number): string | undefined {
  const len = to - from;
  for (const m of COMMON_BYTES) {
    if (m.bytes.length !== len || m.bytes[0] !== bytes[from]) continue;
    let i = 1;
    while (i < len && m.bytes[i] === bytes[from + i]) i++;
    if (i === len) return m.name;
  }
  return undefined;
}

/** Longest method token accepted when hunting for a request start. */
export const MAX_SEEK_METHOD = 20;
/** Shortest unknown method token accepted when hunting for a request start. */
export const MIN_SEEK_METHOD = 3;

export function isUpper(c: number | undefined): boolean {
  return c !== undefined && c >= 0x41 && c <= 0x5a;
}
