/**
 * Request methods: what may be a method (an RFC 9110 token), and which
 * methods are common enough to trust when looking for a request in bytes
 * that may be the middle of a body.
 */

/**
 * 1 for each tchar (RFC 9110 section 5.6.2), indexed by byte. Modules that
 * scan tokens build their own: a module-local table is read directly in
 * loops, with no import binding to go through on every byte.
 */
export function tokenCharTable(): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
}

const COMMON_METHODS = [
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
