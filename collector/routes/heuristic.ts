/**
 * A route for a path no configured pattern matched: each segment that
 * looks like an identifier (a number, a UUID, a hash, a token, a date)
 * becomes "{id}", and the words around them stay. Users get
 * "/users/{id}/orders" from "/users/8812/orders" without configuring
 * anything, and the number of routes stays near the number of handlers.
 */

export const ID_PLACEHOLDER = '{id}';

/** "v1", "v2beta", "s3", "oauth2": versions and names ending in a digit, not ids. */
const NAME_WITH_DIGIT = /^(v\d{1,3}([a-z]+\d*)?|[a-z]+\d)$/i;
/** Longer than any word in a route. */
const LONG_SEGMENT = 40;

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isHexLetter = (c: number): boolean => (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
const isLetter = (c: number): boolean => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);

/** Does this one path segment look like an identifier rather than a word? */
export function looksLikeId(segment: string): boolean {
  const n = segment.length;
  if (n === 0) return false;
  if (n >= LONG_SEGMENT) return true;
  let digits = 0;
  let letters = 0;
  let hex = 0;
  let upper = 0;
  for (let i = 0; i < n; i++) {
    const c = segment.charCodeAt(i);
    if (isDigit(c)) {
      digits++;
      hex++;
    } else if (isLetter(c)) {
      letters++;
      if (c <= 0x5a) upper++;
      if (isHexLetter(c)) hex++;
    } else if (c === 0x25 /* % */ || c === 0x40 /* @ */ || c === 0x3d /* = */) {
      return true; // encoded bytes, e-mail addresses, base64 padding: data, not a name
    }
  }
  // Random tokens mix cases evenly; camelCase words ("getUserProfile") have few capitals.
  if (n >= 16 && upper * 5 >= letters && (letters - upper) * 5 >= letters) return true;
  if (digits === 0) return false;
  if (letters === 0) return true; // 42, 2024-05-01, 3.14, 1_000
  if (n >= 20) return true; // UUIDs, tokens, slugs with numbers: no handler name is that long and has digits
  if (hex === n && n >= 8) return true; // hashes, Mongo object ids
  if (NAME_WITH_DIGIT.test(segment)) return false;
  // Mixed letters and digits: an id when digits are a real share of it ("ab12cd34", "INV-20931").
  return digits * 3 >= n || (n >= 16 && digits >= 4);
}

/** The heuristic route of a path (no query): identifiers replaced, everything else kept. */
export function heuristicRoute(path: string): string {
  let out = '';
  let start = 0;
  let changed = false;
  for (let i = 0; i <= path.length; i++) {
    if (i < path.length && path.charCodeAt(i) !== 0x2f /* / */) continue;
    const segment = path.slice(start, i);
    if (looksLikeId(segment)) {
      out += ID_PLACEHOLDER;
      changed = true;
    } else {
      out += segment;
    }
    if (i < path.length) out += '/';
    start = i + 1;
  }
  return changed ? out : path;
}
