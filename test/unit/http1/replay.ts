/**
 * Test helpers: fixtures recorded by test/fixtures/http{1,2}/capture.mjs, feeding
 * them to a parser whole, re-split or with shorter captures, and a seeded PRNG.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionParser, FlowDirection, HttpTransaction, ParseError } from '../../../protocols/types.js';

export interface ClientSeen {
  readonly method: string;
  readonly target: string;
  readonly status: number;
  readonly requestBodySize: number;
  readonly responseBodySize: number;
}

interface FixtureEvent {
  readonly dir: FlowDirection;
  readonly t: number;
  readonly b64?: string;
  readonly len?: number;
  readonly end?: boolean;
}

export interface Fixture<C = ClientSeen> {
  readonly description: string;
  readonly client: readonly C[];
  readonly steps: readonly Step[];
}

/** One push (a read: captured bytes, true length, one time) or one end. */
export type Step =
  | { readonly kind: 'data'; readonly dir: FlowDirection; readonly data: Uint8Array; readonly length: number; readonly ts: number }
  | { readonly kind: 'end'; readonly dir: FlowDirection; readonly ts: number };

export const FIXTURES = [
  'node-keepalive',
  'node-http10-close',
  'node-upgrade',
  'python-listing',
  'python-404',
  'python-http10',
  'python-node-client',
  'nginx-curl',
  'nginx-node-client',
  'nginx-pipelined',
] as const;

/** A recording from test/fixtures/<folder>/<name>.json. */
export function loadFixture<C = ClientSeen>(name: string, folder = 'http1'): Fixture<C> {
  const url = new URL(`../../fixtures/${folder}/${name}.json`, import.meta.url);
  const raw = JSON.parse(readFileSync(url, 'utf8')) as { description: string; client: C[]; events: FixtureEvent[] };
  const steps = raw.events.map((e): Step => {
    if (e.end === true) return { kind: 'end', dir: e.dir, ts: e.t };
    const data = new Uint8Array(Buffer.from(e.b64 ?? '', 'base64'));
    return { kind: 'data', dir: e.dir, data, length: e.len ?? data.length, ts: e.t };
  });
  return { description: raw.description, client: raw.client, steps };
}

export function bytes(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

export interface Replayed {
  readonly transactions: HttpTransaction[];
  readonly errors: ParseError[];
}

/** Feeds steps (draining after each, as the connection layer would) and gathers the output. */
export function replay(parser: ConnectionParser, steps: readonly Step[]): Replayed {
  const transactions: HttpTransaction[] = [];
  const errors: ParseError[] = [];
  for (const s of steps) {
    if (s.kind === 'end') parser.end(s.dir, s.ts);
    else parser.push(s.dir, { data: s.data, length: s.length, tsFirst: s.ts, tsLast: s.ts });
    const out = parser.drain();
    transactions.push(...out.transactions);
    errors.push(...out.errors);
  }
  return { transactions, errors };
}

/** mulberry32: small, seeded, good enough to pick split points. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Splits every read into pieces of 1 to maxPiece bytes (up to 1000 times
 * that in the uncaptured tail, which holds no framing), keeping the
 * uncaptured tail uncaptured. Pieces keep their read's time.
 */
export function resplit(steps: readonly Step[], random: () => number, maxPiece: number): Step[] {
  const out: Step[] = [];
  for (const s of steps) {
    if (s.kind === 'end') {
      out.push(s);
      continue;
    }
    const captured = s.data.length;
    for (let a = 0; a < s.length; ) {
      const max = a < captured ? maxPiece : maxPiece * 1000;
      const b = Math.min(s.length, a + 1 + Math.floor(random() * max));
      const data = s.data.subarray(Math.min(a, captured), Math.min(b, captured));
      out.push({ kind: 'data', dir: s.dir, data, length: b - a, ts: s.ts });
      a = b;
    }
  }
  return out;
}

/** Keeps only the first `keep(step)` captured bytes of each read: a smaller capture size. */
export function shorten(steps: readonly Step[], keep: (s: Step & { kind: 'data' }) => number): Step[] {
  return steps.map((s) => (s.kind === 'data' ? { ...s, data: s.data.subarray(0, Math.min(s.data.length, keep(s))) } : s));
}

/** Index just past the last blank line ("\r\n\r\n") in data, or 0. */
export function afterLastBlankLine(data: Uint8Array): number {
  const at = Buffer.from(data.buffer, data.byteOffset, data.byteLength).lastIndexOf('\r\n\r\n');
  return at < 0 ? 0 : at + 4;
}

/** The fields a client can see, to compare with what the client recorded. */
export function seen(t: HttpTransaction): ClientSeen {
  return {
    method: t.method,
    target: t.target,
    status: t.status,
    requestBodySize: t.requestBodySize,
    responseBodySize: t.responseBodySize,
  };
}

export function header(headers: readonly (readonly [string, string])[], name: string): string | undefined {
  return headers.find(([n]) => n === name)?.[1];
}
