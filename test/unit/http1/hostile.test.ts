import { describe, it, expect } from 'vitest';
import { Http1Parser } from '../../../protocols/http1/Http1Parser.js';
import { DEFAULT_LIMITS } from '../../../protocols/http1/limits.js';
import type { FlowDirection } from '../../../protocols/types.js';
import { Harness } from './harness.js';
import { bytes, loadFixture, prng, replay, resplit, seen, type Step } from './replay.js';

const GET = (target: string) => `GET ${target} HTTP/1.1\r\nHost: example.test\r\n\r\n`;
const OK = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
const MAX = DEFAULT_LIMITS.maxHeaderBytes;

/** Feeds steps checking the bounds after each; returns how many transactions came out. */
function feedBounded(parser: Http1Parser, steps: readonly Step[], maxHeaderBytes = MAX, maxPending = DEFAULT_LIMITS.maxPending): number {
  let transactions = 0;
  let buffered = 0;
  let pending = 0;
  for (const s of steps) {
    if (s.kind === 'end') parser.end(s.dir, s.ts);
    else parser.push(s.dir, { data: s.data, length: s.length, tsFirst: s.ts, tsLast: s.ts });
    buffered = Math.max(buffered, parser.bufferedBytes);
    pending = Math.max(pending, parser.pending);
    transactions += parser.drain().transactions.length;
  }
  expect(buffered).toBeLessThanOrEqual(2 * maxHeaderBytes);
  expect(pending).toBeLessThanOrEqual(maxPending);
  return transactions;
}

const FRAGMENTS = [
  GET('/whole'),
  OK('whole'),
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
  'POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nab',
  'GET / HTTP/1.1\r\n',
  'POST /p HTTP/1.1\r\n',
  'HEAD / HTTP/1.0\r\n',
  'CONNECT h:1 HTTP/1.1\r\n',
  'HTTP/1.1 200 OK\r\n',
  'HTTP/1.1 100 Continue\r\n',
  'HTTP/1.1 101 Switching\r\n',
  'HTTP/1.0 304 NM\r\n',
  'Content-Length: 5\r\n',
  'Content-Length: -1\r\n',
  'Transfer-Encoding: chunked\r\n',
  'Upgrade: x\r\n',
  'X: y\r\n',
  ' folded\r\n',
  '\r\n',
  '\n',
  '5\r\nhello\r\n',
  '0\r\n\r\n',
  'fffffff\r\n',
  ';ext=1',
  'hello',
  '\x00',
  ':',
  ' ',
];

function randomStep(random: () => number, t: number): Step {
  const dir: FlowDirection = random() < 0.5 ? 'toServer' : 'toClient';
  if (random() < 0.02) return { kind: 'end', dir, ts: t };
  let text = '';
  const n = 1 + Math.floor(random() * 12);
  for (let i = 0; i < n; i++) {
    if (random() < 0.15) {
      const len = Math.floor(random() * 40);
      for (let k = 0; k < len; k++) text += String.fromCharCode(Math.floor(random() * 256));
    } else text += FRAGMENTS[Math.floor(random() * FRAGMENTS.length)] ?? '';
  }
  const data = bytes(text);
  const uncaptured = random() < 0.2 ? Math.floor(random() * 5000) : 0;
  return { kind: 'data', dir, data, length: data.length + uncaptured, ts: t };
}

describe('Http1Parser against hostile input', () => {
  it('survives random bytes: never throws, stays bounded', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      const steps: Step[] = [];
      for (let i = 0; i < 40; i++) {
        const data = new Uint8Array(Math.floor(random() * 600));
        for (let k = 0; k < data.length; k++) data[k] = Math.floor(random() * 256);
        const dir: FlowDirection = random() < 0.5 ? 'toServer' : 'toClient';
        steps.push({ kind: 'data', dir, data, length: data.length + (random() < 0.1 ? 1000 : 0), ts: i });
      }
      expect(feedBounded(new Http1Parser(), steps)).toBe(0);
    }
  });

  it('survives random HTTP-shaped fragments with small limits', () => {
    const limits = { maxHeaderBytes: 256, maxHeaders: 4, maxPending: 3, maxTargetLength: 16 };
    let transactions = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed * 7919);
      const steps = Array.from({ length: 40 }, (_, i) => randomStep(random, i));
      transactions += feedBounded(new Http1Parser(limits), resplit(steps, random, 1 + (seed % 50)), 256, 3);
    }
    // The fragments do make transactions now and then: the states were reached.
    expect(transactions).toBeGreaterThan(50);
  });

  it('survives mutated recordings', () => {
    for (const name of ['nginx-node-client', 'node-keepalive', 'nginx-pipelined']) {
      const fx = loadFixture(name);
      for (let seed = 1; seed <= 60; seed++) {
        const random = prng(seed);
        const mutated = fx.steps.map((s): Step => {
          if (s.kind === 'end' || random() < 0.5) return s;
          const data = s.data.slice();
          for (let k = 0; k < 3; k++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
          return { ...s, data };
        });
        expect(feedBounded(new Http1Parser(), resplit(mutated, random, 40))).toBeLessThanOrEqual(fx.client.length);
      }
    }
  });

  it('survives a real exchange cut at every offset, then closed', () => {
    const fx = loadFixture('nginx-node-client');
    const full = replay(new Http1Parser(), fx.steps).transactions;
    const data = fx.steps.filter((s): s is Step & { kind: 'data' } => s.kind === 'data');
    const total = data.reduce((n, s) => n + s.length, 0);
    for (let cut = 0; cut <= total; cut++) {
      const steps: Step[] = [];
      let left = cut;
      for (const s of data) {
        if (left === 0) break;
        const n = Math.min(left, s.length);
        steps.push({ ...s, data: s.data.subarray(0, n), length: n });
        left -= n;
      }
      steps.push({ kind: 'end', dir: 'toServer', ts: 1e12 }, { kind: 'end', dir: 'toClient', ts: 1e12 });
      const out = replay(new Http1Parser(), steps);
      expect(out.errors).toEqual([]);
      expect(out.transactions.length).toBeLessThanOrEqual(full.length);
      out.transactions.forEach((t, i) => {
        if (t.truncated) expect([t.method, t.target, t.status]).toEqual([full[i]?.method, full[i]?.target, full[i]?.status]);
        else expect(t).toEqual(full[i]);
      });
      if (cut === total) expect(out.transactions).toEqual(full);
    }
  });

  it('fails a 1 MB header line after at most maxHeaderBytes, with one error, in one read or many', () => {
    const line = `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(1 << 20)}`;
    const whole = new Harness();
    whole.toServer(GET('/0'));
    whole.toClient(OK(''));
    whole.toServer(line);
    expect(whole.codes).toEqual(['header-too-large']);
    expect(whole.parser.bufferedBytes).toBe(0);

    const pieces = new Harness();
    pieces.toServer(GET('/0'));
    pieces.toClient(OK(''));
    for (let i = 0; i < line.length; i += 1000) {
      pieces.toServer(line.slice(i, i + 1000));
      expect(pieces.parser.bufferedBytes).toBeLessThanOrEqual(MAX);
    }
    expect(pieces.codes).toEqual(['header-too-large']);
    pieces.toServer(`\r\n\r\n${GET('/after')}`);
    pieces.toClient(OK('') + OK('after'));
    expect(pieces.transactions.map((t) => t.target)).toEqual(['/0', '/after']);
  });

  it('fails a 1 MB request target early', () => {
    const h = new Harness();
    h.toServer(GET('/0'));
    h.toClient(OK(''));
    const line = `GET /${'a'.repeat(1 << 20)} HTTP/1.1\r\n\r\n`;
    for (let i = 0; i < line.length; i += 4096) h.toServer(line.slice(i, i + 4096));
    expect(h.codes).toEqual(['target-too-long']);
    expect(h.parser.pending).toBe(0);
  });

  it('limits the number of headers', () => {
    const many = (n: number) => `GET / HTTP/1.1\r\n${'X-H: v\r\n'.repeat(n)}\r\n`;
    const limit = new Harness();
    limit.toServer(GET('/0'));
    limit.toClient(OK(''));
    limit.toServer(many(128));
    limit.toServer(many(129));
    expect(limit.codes).toEqual(['too-many-headers']);
    expect(limit.parser.pending).toBe(1);

    // 10,000 headers (80 KB): in one read the count fails first; in small
    // reads the size does, before the head is complete.
    const tenThousand = many(10_000);
    const whole = new Harness();
    whole.toServer(GET('/0'));
    whole.toClient(OK(''));
    whole.toServer(tenThousand);
    expect(whole.codes).toEqual(['too-many-headers']);
    const pieces = new Harness();
    pieces.toServer(GET('/0'));
    pieces.toClient(OK(''));
    for (let i = 0; i < tenThousand.length; i += 1000) pieces.toServer(tenThousand.slice(i, i + 1000));
    expect(pieces.codes).toEqual(['header-too-large']);

    const roomy = new Harness({ maxHeaderBytes: 1 << 20 });
    roomy.toServer(GET('/0'));
    roomy.toClient(OK(''));
    for (let i = 0; i < tenThousand.length; i += 1000) roomy.toServer(tenThousand.slice(i, i + 1000));
    expect(roomy.codes).toEqual(['too-many-headers']);
    expect(roomy.parser.bufferedBytes).toBe(0);
  });

  it('rejects a huge or invalid chunk size, and long extensions or trailers', () => {
    const chunked = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (const [body, code] of [
      ['FFFFFFFFFFFFFFFFFFFF\r\n', 'bad-chunk-size'],
      ['10000000000000\r\n', 'bad-chunk-size'],
      ['-5\r\n', 'bad-chunk-size'],
      ['5 x\r\n', 'bad-chunk-size'],
      [`5;${'e'.repeat(MAX + 1)}\r\n`, 'bad-chunk-size'],
      ['2\r\nabXY', 'bad-chunk-data'],
      [`0\r\n${'T: v\r\n'.repeat(MAX / 5)}\r\n`, 'bad-trailer'],
    ] as const) {
      const h = new Harness();
      h.toServer(GET('/c'));
      h.toClient(chunked + body);
      expect(h.codes).toEqual([code]);
      expect(h.transactions).toEqual([]);
      expect(h.parser.pending).toBe(0);
    }
    const zeros = new Harness();
    zeros.toServer(GET('/c'));
    zeros.toClient(`${chunked}${'0'.repeat(100)}1\r\nx\r\n0\r\n\r\n`);
    expect(zeros.transactions.map((t) => t.responseBodySize)).toEqual([1]);
  });

  it('rejects negative, overflowing, malformed and conflicting Content-Length', () => {
    for (const value of ['-1', '99999999999999999999', '1e3', '0x10', '+5', '', '5 5', '5, 6', '1.0']) {
      const h = new Harness();
      h.toServer(GET('/0'));
      h.toClient(OK(''));
      h.toServer(`POST /x HTTP/1.1\r\nContent-Length: ${value}\r\n\r\n`);
      // The server's answer to the broken request is not paired with the next.
      h.toClient('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      h.toServer(GET('/next'));
      h.toClient(OK('n'));
      expect(h.codes).toEqual(['bad-content-length']);
      expect(h.transactions.map((t) => [t.target, t.status])).toEqual([
        ['/0', 200],
        ['/next', 200],
      ]);
    }
    const coding = new Harness();
    coding.toServer('POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n');
    expect(coding.codes).toEqual(['bad-transfer-encoding']);
    const two = new Harness();
    two.toServer(GET('/0'));
    two.toClient('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab');
    expect(two.codes).toEqual(['bad-content-length']);
    expect(two.parser.pending).toBe(0);
  });

  it('rejects NUL bytes in the start line and headers, but not in bodies', () => {
    for (const [request, code] of [
      ['GET /a\x00b HTTP/1.1\r\n\r\n', 'bad-start-line'],
      ['G\x00T / HTTP/1.1\r\n\r\n', 'bad-start-line'],
      ['GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n', 'bad-header'],
      ['GET / HTTP/1.1\r\nX\x00A: ab\r\n\r\n', 'bad-header'],
      ['GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n', 'bad-header'],
    ] as const) {
      const h = new Harness();
      h.toServer(GET('/0'));
      h.toClient(OK(''));
      h.toServer(request);
      expect(h.codes).toEqual([code]);
    }
    const body = new Harness();
    body.toServer('POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\n\x00\x00\x00');
    body.toClient(OK('\x00'));
    expect(body.transactions.map((t) => [t.requestBodySize, t.responseBodySize])).toEqual([[3, 1]]);
  });

  it('skips a flood of responses before any request without errors or growth', () => {
    const h = new Harness();
    for (let i = 0; i < 1000; i++) h.toClient(OK('x'.repeat(i % 7)));
    expect(h.errors).toEqual([]);
    expect(h.parser.pending).toBe(0);
    h.toServer(GET('/a'));
    h.toClient(OK('a'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/a']);
  });

  it('bounds pipelining: the oldest requests are dropped and counted', () => {
    const h = new Harness();
    h.toServer(Array.from({ length: 100 }, (_, i) => GET(`/${i}`)).join(''));
    expect(h.parser.pending).toBe(64);
    expect(h.codes).toEqual(Array.from({ length: 36 }, () => 'pending-overflow'));
    h.toClient(OK('first answered'));
    // FIFO over what is kept: the answer goes to the oldest request still held.
    expect(h.transactions.map((t) => t.target)).toEqual(['/36']);
  });

  it('takes odd chunks and calls in its stride', () => {
    const parser = new Http1Parser({ maxHeaderBytes: -5, maxPending: Number.NaN });
    const data = bytes(GET('/odd'));
    parser.push('toServer', { data: new Uint8Array(0), length: 0, tsFirst: 1, tsLast: 1 });
    parser.push('toServer', { data, length: 3, tsFirst: 2, tsLast: 2 });
    parser.push('toServer', { data, length: Number.NaN, tsFirst: 3, tsLast: 3 });
    parser.end('toClient', 4);
    parser.end('toClient', 5);
    parser.push('toClient', { data: bytes(OK('late')), length: 30, tsFirst: 6, tsLast: 6 });
    parser.end('toServer', 7);
    const out = parser.drain();
    expect(out.transactions).toEqual([]);
    expect(parser.pending).toBe(0);
    expect(parser.drain()).toEqual({ transactions: [], errors: [], started: [] });
  });

  it('treats a first read that is all request as a request, even split at the method', () => {
    const h = new Harness();
    h.toServer('GE');
    h.toServer('T /split HTTP/1.1\r\n\r\n');
    h.toClient(OK('s'));
    expect(h.transactions.map(seen)).toEqual([{ method: 'GET', target: '/split', status: 200, requestBodySize: 0, responseBodySize: 1 }]);
  });
});
