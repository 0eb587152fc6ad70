import { describe, expect, it } from 'vitest';
import { detectProtocol } from '../../../protocols/detect.js';
import { grpcMethod, grpcStatusCode, isGrpc } from '../../../protocols/grpc/status.js';
import { Http2Parser } from '../../../protocols/http2/Http2Parser.js';
import type { HttpTransaction } from '../../../protocols/types.js';
import { loadFixture, prng, replay, resplit, seen, type ClientSeen, type Step } from '../http1/replay.js';

interface GrpcSeen {
  readonly call: string;
  readonly message: string;
  readonly code: number;
}

const HTTP_FIXTURES = ['node-h2c', 'nghttpd-curl', 'nghttpd-curl-404', 'nghttpd-nghttp'] as const;

function run(steps: readonly Step[], midway = false) {
  const parser = new Http2Parser({ midway });
  return { ...replay(parser, steps), parser };
}

/** Streams complete in the order their responses end: compare as sets keyed by path. */
const byTarget = (a: ClientSeen, b: ClientSeen): number => (a.target < b.target ? -1 : a.target > b.target ? 1 : a.method < b.method ? -1 : 1);

function httpSeen(t: HttpTransaction): ClientSeen & { reset?: true } {
  return { ...seen(t), ...(t.resetCode !== undefined ? { reset: true as const } : {}) };
}

describe('HTTP/2 recorded fixtures', () => {
  for (const name of HTTP_FIXTURES) {
    describe(name, () => {
      const fx = loadFixture(name, 'http2');

      it('is detected as HTTP/2 from its first bytes: the preface, or a server speaking first with SETTINGS', () => {
        const first = fx.steps.find((s) => s.kind === 'data')!;
        if (first.kind !== 'data') throw new Error('no data');
        expect(detectProtocol(first.data, true, false)).toEqual({ protocol: 'http2', sender: first.dir === 'toServer' ? 'client' : 'server', midway: false });
      });

      it('yields one transaction per stream, as the client saw it', () => {
        const { transactions, errors, parser } = run(fx.steps);
        // Reads captured only in part lose the frames past the capture, and only those.
        const cut = fx.steps.some((s) => s.kind === 'data' && s.data.length < s.length);
        expect(errors.filter((e) => e.code !== 'frames-lost' && e.code !== 'headers-unrecovered')).toEqual([]);
        if (!cut) expect(errors).toEqual([]);
        expect(parser.pending).toBe(0);
        expect(transactions).toHaveLength(fx.client.length);
        // Each transaction whose fields were all read is one the client saw
        // (a body whose frames were partly lost is counted short, never long).
        const unmatched = [...fx.client];
        const read = (x: HttpTransaction): boolean => !['method', 'path', 'status'].some((f) => x.unrecovered?.includes(f));
        for (const t of transactions.filter(read)) {
          const i = unmatched.findIndex((c) => c.method === t.method && c.target === t.target && c.status === t.status && c.requestBodySize === t.requestBodySize && t.responseBodySize <= c.responseBodySize);
          expect(i, `${t.method} ${t.target}`).toBeGreaterThanOrEqual(0);
          unmatched.splice(i, 1);
        }
        expect(unmatched.length).toBe(transactions.filter((x) => !read(x)).length);
        for (const t of transactions) {
          expect(t.protocol).toBe('HTTP/2');
          expect(t.requestStart).toBeLessThanOrEqual(t.responseStart);
          expect(t.responseStart).toBeLessThanOrEqual(t.responseEnd);
        }
      });

      it('yields the same at random read boundaries', () => {
        const whole = run(fx.steps);
        const cut = fx.steps.some((s) => s.kind === 'data' && s.data.length < s.length);
        const truth = new Set(fx.client.map((c) => `${c.method} ${c.target} ${c.status}`));
        for (let seed = 1; seed <= 20; seed++) {
          const split = run(resplit(fx.steps, prng(seed), [1, 3, 17, 200][seed % 4]!));
          if (!cut) {
            expect(split.errors).toEqual(whole.errors);
            expect(split.transactions.map(httpSeen)).toEqual(whole.transactions.map(httpSeen));
            continue;
          }
          // Where reads were captured in part, where the frames are found
          // again depends on where reads end: a stream may be missed, none is wrong.
          for (const t of split.transactions) if (t.unrecovered === undefined) expect(truth.has(`${t.method} ${t.target} ${t.status}`)).toBe(true);
          expect(split.transactions.length).toBeGreaterThanOrEqual(whole.transactions.length - 2);
        }
      });
    });
  }

  it('node-h2c: reads of the 1 MiB body captured in part: the frames are found again after each cut, the stream ends, the other bodies are exact', () => {
    const fx = loadFixture('node-h2c', 'http2');
    const { transactions } = run(fx.steps);
    const big = transactions.find((t) => t.target === '/big' && t.resetCode === undefined)!;
    expect(big.status).toBe(200);
    expect(big.truncated).toBe(false);
    expect(big.responseBodySize).toBeGreaterThan(16384);
    expect(big.responseBodySize).toBeLessThanOrEqual(1024 * 1024);
    const small = transactions.filter((t) => t.target.startsWith('/item/'));
    expect(small.map((t) => t.responseBodySize)).toEqual(small.map((t) => t.target.length));
  });

  it('node-h2c: the 20 kB header block (HEADERS and CONTINUATION) is longer than the capture: its stream is kept, its fields marked unrecovered', () => {
    const fx = loadFixture('node-h2c', 'http2');
    const { transactions } = run(fx.steps);
    const lost = transactions.filter((t) => t.unrecovered?.includes('path'));
    expect(lost).toHaveLength(1);
    // Later requests refer to table entries that block may have added: what they name is not guessed either.
    expect(transactions.filter((t) => t.unrecovered?.includes('authority')).length).toBeGreaterThan(1);
    expect(lost[0]!.unrecovered).toEqual(expect.arrayContaining(['method', 'path']));
    expect(lost[0]!.status).toBe(200);
  });
});

describe('gRPC recorded fixture', () => {
  const fx = loadFixture<GrpcSeen>('grpc-node', 'http2');

  it('yields one call per RPC with the method and the status the client got', () => {
    const { transactions, errors, parser } = run(fx.steps);
    expect(errors).toEqual([]);
    expect(parser.pending).toBe(0);
    expect(transactions.every(isGrpc)).toBe(true);
    const calls = transactions.map((t) => ({ call: grpcMethod(t.target)!.method, code: grpcStatusCode(t) }));
    expect(calls).toEqual(fx.client.map((c) => ({ call: c.call, code: c.code })));
    for (const t of transactions) expect(grpcMethod(t.target)!.service).toBe('grpc.examples.echo.Echo');
  });
});
