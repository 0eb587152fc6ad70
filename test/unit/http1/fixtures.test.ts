import { describe, it, expect } from 'vitest';
import { Http1Parser } from '../../../protocols/http1/Http1Parser.js';
import type { HttpTransaction } from '../../../protocols/types.js';
import {
  FIXTURES,
  afterLastBlankLine,
  header,
  loadFixture,
  prng,
  replay,
  resplit,
  seen,
  shorten,
  type Step,
} from './replay.js';

function run(steps: readonly Step[]) {
  const parser = new Http1Parser();
  const out = replay(parser, steps);
  return { ...out, parser };
}

function expectOrdered(t: HttpTransaction): void {
  expect(t.requestStart).toBeLessThanOrEqual(t.requestEnd);
  expect(t.requestEnd).toBeLessThanOrEqual(t.responseStart);
  expect(t.responseStart).toBeLessThanOrEqual(t.responseEnd);
}

/** Times of the data reads of one direction, in order. */
function times(steps: readonly Step[], dir: 'toServer' | 'toClient'): number[] {
  return steps.filter((s) => s.kind === 'data' && s.dir === dir).map((s) => s.ts);
}

describe('recorded fixtures', () => {
  for (const name of FIXTURES) {
    describe(name, () => {
      const fx = loadFixture(name);

      it('yields what the real client saw, with no errors', () => {
        const { transactions, errors, parser } = run(fx.steps);
        expect(transactions.map(seen)).toEqual(fx.client);
        expect(errors).toEqual([]);
        expect(parser.pending).toBe(0);
        expect(parser.bufferedBytes).toBe(0);
        for (const t of transactions) {
          expectOrdered(t);
          expect(t.truncated).toBe(false);
        }
      });

      it('yields the same at random read boundaries', () => {
        const whole = run(fx.steps).transactions;
        for (let seed = 1; seed <= 30; seed++) {
          const random = prng(seed);
          const maxPiece = [1, 3, 17, 200][seed % 4] ?? 1;
          const split = run(resplit(fx.steps, random, maxPiece));
          expect(split.errors).toEqual([]);
          expect(split.transactions).toEqual(whole);
        }
      });
    });
  }

  // Bodies framed by Content-Length or by the close must survive any capture
  // size that keeps the heads: cut every read just after its last blank line.
  for (const name of FIXTURES.filter((n) => n !== 'node-keepalive')) {
    it(`${name}: yields the same sizes when bodies are not captured`, () => {
      const fx = loadFixture(name);
      const short = shorten(fx.steps, (s) => afterLastBlankLine(s.data));
      const { transactions, errors } = run(short);
      expect(errors).toEqual([]);
      expect(transactions.map(seen)).toEqual(fx.client);
    });
  }

  it('node-keepalive: counts Content-Length bodies over uncaptured reads', () => {
    const fx = loadFixture('node-keepalive');
    // The 1 MiB response's later reads and the upload body: pure body bytes.
    const bodyOnly = (s: Step & { kind: 'data' }) => s.data.length > 0 && s.data.every((b) => b === s.data[0]) && s.data.length > 100;
    const shortened = shorten(fx.steps, (s) => (bodyOnly(s) ? 0 : s.data.length));
    expect(shortened.filter((s) => s.kind === 'data' && s.data.length === 0).length).toBeGreaterThan(10);
    const { transactions, errors } = run(shortened);
    expect(errors).toEqual([]);
    expect(transactions.map(seen)).toEqual(fx.client);
  });

  it('node-keepalive: headers, protocol and exact times', () => {
    const fx = loadFixture('node-keepalive');
    const { transactions } = run(fx.steps);
    const server = times(fx.steps, 'toServer');
    const client = times(fx.steps, 'toClient');
    const [small, chunked, big] = transactions;
    expect(small?.protocol).toBe('HTTP/1.1');
    expect(header(small?.requestHeaders ?? [], 'connection')).toBe('keep-alive');
    expect(header(small?.responseHeaders ?? [], 'content-type')).toBe('text/plain');
    expect(header(small?.responseHeaders ?? [], 'keep-alive')).toBe('timeout=5');
    expect([small?.requestStart, small?.requestEnd, small?.responseStart, small?.responseEnd]).toEqual([
      server[0],
      server[0],
      client[0],
      client[0],
    ]);
    // The chunked response came in two reads.
    expect([chunked?.responseStart, chunked?.responseEnd]).toEqual([client[1], client[2]]);
    expect(header(chunked?.responseHeaders ?? [], 'transfer-encoding')).toBe('chunked');
    // The 1 MiB body: first read holds the head, the 17th and last the end.
    expect([big?.responseStart, big?.responseEnd]).toEqual([client[3], client[19]]);

    const upload = transactions[9];
    expect(header(upload?.requestHeaders ?? [], 'expect')).toBe('100-continue');
    // The final response, not the 100 Continue, is the response.
    expect(upload?.responseStart).toBe(client[client.length - 2]);
    expect(upload?.requestEnd).toBeLessThan(upload?.responseStart ?? 0);
    const echo = transactions[10];
    expect(header(echo?.requestHeaders ?? [], 'transfer-encoding')).toBe('chunked');
  });

  it('nginx-curl: one read per message gives each message its read time', () => {
    const fx = loadFixture('nginx-curl');
    const { transactions } = run(fx.steps);
    const server = times(fx.steps, 'toServer');
    const client = times(fx.steps, 'toClient');
    expect(transactions.map((t) => [t.requestStart, t.requestEnd, t.responseStart, t.responseEnd])).toEqual(
      server.map((s, i) => [s, s, client[i], client[i]]),
    );
    expect(header(transactions[0]?.requestHeaders ?? [], 'user-agent')).toMatch(/^curl\//);
    expect(header(transactions[1]?.responseHeaders ?? [], 'server')).toMatch(/^nginx\//);
  });

  it('nginx-pipelined: three requests in one read, three responses in one read, FIFO', () => {
    const fx = loadFixture('nginx-pipelined');
    const { transactions } = run(fx.steps);
    const [server] = times(fx.steps, 'toServer');
    const [client] = times(fx.steps, 'toClient');
    expect(transactions.map((t) => t.target)).toEqual(['/a.txt', '/b.txt', '/missing']);
    for (const t of transactions) expect([t.requestStart, t.responseEnd]).toEqual([server, client]);
    expect(header(transactions[2]?.requestHeaders ?? [], 'connection')).toBe('close');
  });

  it('python: HTTP/1.0 responses, and an HTTP/1.0 request', () => {
    const listing = run(loadFixture('python-listing').steps).transactions[0];
    expect(listing?.protocol).toBe('HTTP/1.1');
    expect(header(listing?.responseHeaders ?? [], 'server')).toMatch(/^SimpleHTTP/);
    expect(header(listing?.responseHeaders ?? [], 'content-type')).toBe('text/html; charset=utf-8');
    const http10 = run(loadFixture('python-http10').steps).transactions[0];
    expect(http10?.protocol).toBe('HTTP/1.0');
  });

  it('node-http10-close: the body runs to the close and ends at its last byte', () => {
    const fx = loadFixture('node-http10-close');
    const { transactions } = run(fx.steps);
    const client = times(fx.steps, 'toClient');
    expect(transactions).toHaveLength(1);
    expect(header(transactions[0]?.responseHeaders ?? [], 'content-length')).toBeUndefined();
    expect(transactions[0]?.responseEnd).toBe(client[client.length - 1]);
    expect(transactions[0]?.truncated).toBe(false);
  });

  it('node-upgrade: the 101 exchange, then nothing from the tunnel', () => {
    const fx = loadFixture('node-upgrade');
    const { transactions, errors, parser } = run(fx.steps);
    expect(transactions.map(seen)).toEqual([{ method: 'GET', target: '/ws', status: 101, requestBodySize: 0, responseBodySize: 0 }]);
    expect(errors).toEqual([]);
    expect(parser.stats.resyncs).toBe(0);
  });
});
