import { describe, it, expect } from 'vitest';
import { Harness } from './harness.js';
import { seen } from './replay.js';

const GET = (target: string) => `GET ${target} HTTP/1.1\r\nHost: example.test\r\n\r\n`;
const OK = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('Http1Parser with uncaptured bytes where framing is', () => {
  it('a response head cut: truncated, ended by the next request, then back in sync', () => {
    const h = new Harness();
    h.toServer(GET('/a'));
    const captured = 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nX-Long: aaaa';
    const start = h.toClient(captured, captured.length + 500);
    const last = h.toClient('more body of unknown length');
    expect(h.transactions).toEqual([]);
    h.toServer(GET('/b'));
    expect(h.transactions.map((t) => [t.target, t.status, t.truncated, t.responseStart, t.responseEnd, t.responseHeaders])).toEqual([
      ['/a', 503, true, start, last + 5, [['content-type', 'text/plain']]],
    ]);
    h.toClient('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(h.transactions.map((t) => [t.target, t.status, t.truncated])).toEqual([
      ['/a', 503, true],
      ['/b', 404, false],
    ]);
    expect(h.errors).toEqual([]);
  });

  it('a chunk-size line cut: truncated, ended by a read ending in the last chunk', () => {
    const h = new Harness();
    h.toServer(GET('/c'));
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10';
    h.toClient(head, head.length + 4000);
    h.toClient('zzzz', 9000);
    const last = h.toClient('abc\r\n0\r\n\r\n');
    expect(h.transactions.map((t) => [t.status, t.truncated, t.responseBodySize, t.responseEnd])).toEqual([[200, true, 5, last + 5]]);
    // Back in sync: the next exchange needs no resynchronisation.
    const resyncs = h.parser.stats.resyncs;
    h.toServer(GET('/d'));
    h.toClient(OK('d'));
    expect(h.transactions.map((t) => [t.target, t.truncated])).toEqual([
      ['/c', true],
      ['/d', false],
    ]);
    expect(h.parser.stats.resyncs).toBe(resyncs);
    expect(h.errors).toEqual([]);
  });

  it('lost framing: a read merely containing "0\\r\\n\\r\\n" mid-way does not end the body', () => {
    const h = new Harness();
    h.toServer(GET('/c'));
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1';
    h.toClient(head, head.length + 100);
    h.toClient('x0\r\n\r\nmore');
    // Partially captured: even ending in the last chunk it proves nothing.
    h.toClient('0\r\n\r\n', 4000);
    expect(h.transactions).toEqual([]);
    h.end('toClient');
    expect(h.transactions.map((t) => t.truncated)).toEqual([true]);
  });

  it('a lost response is ended by end(), at its last byte seen', () => {
    const h = new Harness();
    h.toServer(GET('/a'));
    const captured = 'HTTP/1.1 200 OK\r\nContent-';
    h.toClient(captured, captured.length + 100);
    const last = h.toClient('tail', 1000);
    h.end('toClient');
    expect(h.transactions.map((t) => [t.status, t.truncated, t.responseEnd])).toEqual([[200, true, last + 5]]);
  });

  it('pipelined: a lost response is ended by the next status line', () => {
    const h = new Harness();
    h.toServer(GET('/1') + GET('/2'));
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1f4';
    const lostEnd = h.toClient(head, head.length + 600);
    const second = h.toClient(OK('two'));
    expect(h.transactions.map((t) => [t.target, t.truncated, t.responseEnd, t.responseStart])).toEqual([
      ['/1', true, lostEnd + 5, lostEnd],
      ['/2', false, second + 5, second],
    ]);
    expect(h.errors).toEqual([]);
  });

  it('an interim response head cut: counted, and the final response still pairs', () => {
    const h = new Harness();
    h.toServer('POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
    const interim = 'HTTP/1.1 100 Continue\r\nX-Inter';
    h.toClient(interim, interim.length + 6);
    h.toServer('ok');
    h.toClient(OK('done'));
    expect(h.codes).toEqual(['gap-in-headers']);
    expect(h.transactions.map((t) => [t.status, t.requestBodySize, t.truncated])).toEqual([[200, 2, false]]);
  });

  it('a request head cut: dropped with an error, and its response is not paired with the next', () => {
    const h = new Harness();
    const captured = 'POST /upload HTTP/1.1\r\nHost: a\r\nContent-Le';
    h.toServer(captured, captured.length + 70000);
    expect(h.codes).toEqual(['gap-in-headers']);
    expect(h.errors[0]?.direction).toBe('toServer');
    h.toClient(OK('stored'));
    h.toServer(GET('/next'));
    h.toClient(OK('next'));
    expect(h.transactions.map(seen)).toEqual([{ method: 'GET', target: '/next', status: 200, requestBodySize: 0, responseBodySize: 4 }]);
    expect(h.codes).toEqual(['gap-in-headers']);
    expect(h.parser.pending).toBe(0);
  });

  it('a chunked request body with a cut size line: dropped, its response swallowed', () => {
    const h = new Harness();
    const captured = 'POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n400\r\nabc';
    h.toServer(captured, captured.length + 1024 - 3 + 2 + 10);
    h.toServer('0\r\n\r\n');
    expect(h.codes).toEqual(['gap-in-chunked']);
    h.toClient(OK('x'));
    h.toServer(GET('/next'));
    h.toClient(OK('y'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/next']);
    expect(h.codes).toEqual(['gap-in-chunked']);
  });

  it('a message starting in uncaptured bytes: error, and the request it answered is dropped', () => {
    const h = new Harness();
    h.toServer(GET('/1') + GET('/2'));
    // Response 1 captured, response 2 entirely in the uncaptured tail.
    const first = OK('one');
    h.toClient(first, first.length + 200);
    expect(h.codes).toEqual(['gap-in-headers']);
    expect(h.errors[0]?.direction).toBe('toClient');
    expect(h.transactions.map((t) => t.target)).toEqual(['/1']);
    expect(h.parser.pending).toBe(0);
    h.toServer(GET('/3'));
    h.toClient(OK('three'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/1', '/3']);
  });

  it('an uncaptured tail inside a header value of a request found while seeking is dropped quietly', () => {
    const h = new Harness();
    // Joined mid-stream: a request line appears at a read start, cut in its head.
    const captured = 'GET /x HTT';
    h.toServer(captured, captured.length + 40);
    expect(h.errors).toEqual([]);
    h.toServer(GET('/y'));
    h.toClient(OK('y'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/y']);
  });
});
