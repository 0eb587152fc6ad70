/**
 * What is never exported, or only redacted. Query strings carry secrets (tokens, signatures, keys). url.query is off
 * by default; when a user turns it on, the values of parameters whose
 * names look secret are replaced with "REDACTED" (the semantic
 * conventions' word), their names kept, so a dashboard still shows which
 * parameters were sent.
 */

export const REDACTED = 'REDACTED';

/** Header values no configuration may export: credentials. */
export const NEVER_RECORDED_HEADERS: ReadonlySet<string> = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);

/** Names of parameters whose values are secret: tokens, keys, passwords, signatures, sessions (case-insensitive, anywhere in the name). */
const SECRET_NAME = /token|secret|passw|pwd|api[-_.]?key|apikey|auth|session|sid$|signature|^sig$|credential|access[-_.]?key|private|jwt|code_verifier|client_assertion/i;

export function isSecretParameter(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judge the raw name
  }
  return SECRET_NAME.test(decoded);
}

/** The query with secret values replaced; everything else byte for byte. */
export function redactQuery(query: string): string {
  if (query === '') return query;
  let out = '';
  let start = 0;
  for (let i = 0; i <= query.length; i++) {
    if (i < query.length && query.charCodeAt(i) !== 0x26 /* & */) continue;
    const pair = query.slice(start, i);
    const eq = pair.indexOf('=');
    out += eq > 0 && isSecretParameter(pair.slice(0, eq)) ? `${pair.slice(0, eq + 1)}${REDACTED}` : pair;
    if (i < query.length) out += '&';
    start = i + 1;
  }
  return out;
}
