import { describe, it, expect } from 'vitest';
import { Harness } from './harness.js';
import { bytes, seen } from './replay.js';

const GET = (target: string, extra = '') => `GET ${target} HTTP/1.1\r\nHost: example.test\r\n${extra}\r\n`;
const OK = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('Http1Parser framing', () => {
  it('says where in the flow each request began, gaps and bodies counted', () => {
    const h = new Harness();
    const first = 'POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc';
    h.toServer(first);
    h.toClient(OK('1'));
    // 100 bytes the kernel did not copy (a body past the capture), then two pipelined requests in one read.
    h.toServer(`POST /b HTTP/1.1\r\nContent-Length: 100\r\n\r\n`);
    h.toServer(new Uint8Array(0), 100);
    h.toServer(GET('/c') + GET('/d'));
    for (let i = 0; i < 3; i++) h.toClient(OK('2'));
    const b = `POST /b HTTP/1.1\r\nContent-Length: 100\r\n\r\n`.length + 100;
    expect(h.transactions.map((t) => [t.target, t.requestOffset])).toEqual([
      ['/a', 0],
      ['/b', first.length],
      ['/c', first.length + b],
      ['/d', first.length + b + GET('/c').length],
    ]);
  });

  it('pairs a Content-Length request and response, with exact times', () => {
    const h = new Harness();
    const t1 = h.toServer('POST /items?id=7 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello');
    const t2 = h.toClient('HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok');
    expect(h.transactions).toEqual([
      {
        protocol: 'HTTP/1.1',
        method: 'POST',
        target: '/items?id=7',
        requestHeaders: [
          ['host', 'a'],
          ['content-length', '5'],
        ],
        requestBodySize: 5,
        requestStart: t1,
        requestOffset: 0,
        start: { method: 'POST', target: '/items?id=7', requestHeaders: expect.any(Array), requestStart: t1, requestOffset: 0 },
        requestEnd: t1 + 5,
        status: 201,
        responseHeaders: [['content-length', '2']],
        responseBodySize: 2,
        responseStart: t2,
        responseEnd: t2 + 5,
        truncated: false,
      },
    ]);
    expect(h.errors).toEqual([]);
    expect(h.parser.pending).toBe(0);
  });

  it('ends a message at the last byte of the read holding its last byte', () => {
    const h = new Harness();
    const start = h.toServer('PUT /x HTTP/1.1\r\nContent-Length: 6\r\n\r\nab');
    h.toServer('cd');
    const last = h.toServer('ef');
    expect(h.parser.pending).toBe(1);
    const rs = h.toClient('HTTP/1.1 204 No Content\r\n\r\n');
    expect(h.transactions.map((t) => [t.requestStart, t.requestEnd, t.requestBodySize, t.responseStart, t.responseEnd])).toEqual([
      [start, last + 5, 6, rs, rs + 5],
    ]);
  });

  it('decodes chunked bodies with extensions and trailers, then goes on', () => {
    const h = new Harness();
    h.toServer(GET('/c'));
    h.toClient(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '5;name=value\r\nhello\r\n6 ; q="x;y"\r\n world\r\nA\r\n0123456789\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n',
    );
    h.toServer(GET('/d'));
    h.toClient(OK('d'));
    expect(h.transactions.map(seen)).toEqual([
      { method: 'GET', target: '/c', status: 200, requestBodySize: 0, responseBodySize: 21 },
      { method: 'GET', target: '/d', status: 200, requestBodySize: 0, responseBodySize: 1 },
    ]);
    expect(h.errors).toEqual([]);
  });

  it('decodes a chunked request body', () => {
    const h = new Harness();
    h.toServer('POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n');
    h.toServer('4\r\ndefg\r\n0\r\n\r\n');
    h.toClient(OK(''));
    expect(h.transactions.map((t) => t.requestBodySize)).toEqual([7]);
  });

  it('counts a body far larger than what was captured', () => {
    const h = new Harness();
    h.toServer(GET('/big'));
    const head = 'HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n';
    // First read: head and 64 captured bytes of a 65536-byte read.
    h.toClient(head + 'x'.repeat(64), head.length + 65536);
    let last = 0;
    for (let left = 10_000_000 - 65536; left > 0; left -= 65536) last = h.toClient(new Uint8Array(0), Math.min(left, 65536));
    expect(h.transactions.map((t) => [t.responseBodySize, t.responseEnd, t.truncated])).toEqual([[10_000_000, last + 5, false]]);
    // The next response on the connection is read in sync.
    h.toServer(GET('/next'));
    h.toClient(OK('n'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/big', '/next']);
  });

  it('skips uncaptured chunk data and its CRLF inside a chunked body', () => {
    const h = new Harness();
    h.toServer(GET('/c'));
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n';
    // The whole 4096-byte chunk and its CRLF moved; only 10 bytes of data captured.
    h.toClient(head + 'y'.repeat(10), head.length + 4096 + 2);
    h.toClient('2\r\nzz\r\n0\r\n\r\n');
    expect(h.transactions.map((t) => [t.responseBodySize, t.truncated])).toEqual([[4098, false]]);
    expect(h.errors).toEqual([]);
  });

  it('reads no body after HEAD even with a Content-Length', () => {
    const h = new Harness();
    h.toServer('HEAD /file HTTP/1.1\r\n\r\n');
    h.toClient('HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n');
    h.toServer(GET('/after'));
    h.toClient(OK('abc'));
    expect(h.transactions.map(seen)).toEqual([
      { method: 'HEAD', target: '/file', status: 200, requestBodySize: 0, responseBodySize: 0 },
      { method: 'GET', target: '/after', status: 200, requestBodySize: 0, responseBodySize: 3 },
    ]);
  });

  it('skips 100 Continue and 103 Early Hints; the final response is paired', () => {
    const h = new Harness();
    h.toServer('POST /up HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
    h.toClient('HTTP/1.1 100 Continue\r\n\r\n');
    const bodyAt = h.toServer('data');
    h.toClient('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n');
    const final = h.toClient(OK('done'));
    expect(h.transactions.map((t) => [t.status, t.requestBodySize, t.requestEnd, t.responseStart, t.responseBodySize])).toEqual([
      [200, 4, bodyAt + 5, final, 4],
    ]);
    expect(h.transactions[0]?.responseHeaders).toEqual([['content-length', '4']]);
    expect(h.errors).toEqual([]);
  });

  it('stops at 101 Switching Protocols: emits it, then ignores everything', () => {
    const h = new Harness();
    h.toServer('GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    // The client may send frames before the 101 arrives.
    h.toServer(new Uint8Array([0x81, 0x85, 1, 2, 3, 4, 0x47, 0x45, 0x54]));
    h.toClient('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello');
    h.toServer('GET /not-http HTTP/1.1\r\n\r\n');
    h.toClient('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    h.end('toClient');
    expect(h.transactions.map((t) => [t.target, t.status])).toEqual([['/chat', 101]]);
    expect(h.errors).toEqual([]);
    expect(h.parser.pending).toBe(0);
  });

  it('tunnels after CONNECT 2xx, but not after CONNECT 407', () => {
    const denied = new Harness();
    denied.toServer('CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n');
    denied.toClient('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
    denied.toServer('CONNECT db.internal:5432 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n');
    denied.toClient('HTTP/1.1 200 Connection Established\r\n\r\n');
    denied.toServer('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03');
    denied.toClient('HTTP/1.1 200 OK\r\n\r\n');
    expect(denied.transactions.map((t) => [t.method, t.target, t.status, t.responseBodySize])).toEqual([
      ['CONNECT', 'db.internal:5432', 407, 0],
      ['CONNECT', 'db.internal:5432', 200, 0],
    ]);
    expect(denied.errors).toEqual([]);
  });

  it('goes on as HTTP/1 when an Upgrade request gets an ordinary response', () => {
    const h = new Harness();
    h.toServer('GET /maybe HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
    h.toClient(OK('not upgraded'));
    h.toServer(GET('/next'));
    h.toClient(OK('n'));
    expect(h.transactions.map((t) => [t.target, t.status])).toEqual([
      ['/maybe', 200],
      ['/next', 200],
    ]);
    expect(h.errors).toEqual([]);
  });

  it('skips what the client sends while an Upgrade is undecided, then looks for the next request', () => {
    const h = new Harness();
    h.toServer('GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    h.toServer('\x81\x85early frame');
    h.toClient('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
    // Out of sync: the rest of the early frame may follow.
    h.toServer('rest of frame\r\n');
    h.toServer(GET('/after'));
    h.toClient(OK('a'));
    expect(h.transactions.map((t) => [t.target, t.status])).toEqual([
      ['/ws', 403],
      ['/after', 200],
    ]);
    expect(h.parser.stats.skippedBytes).toBe(13 + 15);
    expect(h.errors).toEqual([]);
  });

  it('reads a response with a transfer coding but no chunked to the close', () => {
    const h = new Harness();
    h.toServer(GET('/gz'));
    h.toClient('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n\x1f\x8b\x08\x00');
    h.end('toClient');
    expect(h.transactions.map((t) => [t.responseBodySize, t.truncated])).toEqual([[4, false]]);
  });

  it('reads no body for 204 and 304, whatever their headers say', () => {
    const h = new Harness();
    h.toServer(GET('/a') + GET('/b'));
    h.toClient('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n');
    h.toServer(GET('/c'));
    h.toClient(OK('c'));
    expect(h.transactions.map((t) => [t.target, t.status, t.responseBodySize])).toEqual([
      ['/a', 204, 0],
      ['/b', 304, 0],
      ['/c', 200, 1],
    ]);
  });

  it('runs a response without length to the close, ending at its last byte', () => {
    const h = new Harness();
    h.toServer(GET('/stream'));
    h.toClient('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nfirst');
    const last = h.toClient('x'.repeat(10), 5000);
    expect(h.transactions).toEqual([]);
    h.end('toClient');
    expect(h.transactions.map((t) => [t.responseBodySize, t.responseEnd, t.truncated])).toEqual([[5005, last + 5, false]]);
  });

  it('gives a request without Content-Length or chunked no body', () => {
    const h = new Harness();
    h.toServer('POST /empty HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\n\r\n');
    expect(h.parser.pending).toBe(2);
    h.toClient(OK('1') + OK('22'));
    expect(h.transactions.map((t) => [t.method, t.target, t.requestBodySize, t.responseBodySize])).toEqual([
      ['POST', '/empty', 0, 1],
      ['GET', '/next', 0, 2],
    ]);
  });

  it('reads many messages in one read, which share its times', () => {
    const h = new Harness();
    const req = h.toServer([1, 2, 3, 4, 5].map((i) => GET(`/${i}`)).join(''));
    expect(h.parser.pending).toBe(5);
    const res = h.toClient([1, 2, 3, 4, 5].map((i) => OK('x'.repeat(i))).join(''));
    expect(h.transactions.map((t) => [t.target, t.responseBodySize, t.requestStart, t.requestEnd, t.responseStart, t.responseEnd])).toEqual(
      [1, 2, 3, 4, 5].map((i) => [`/${i}`, i, req, req + 5, res, res + 5]),
    );
    expect(h.parser.pending).toBe(0);
  });

  it('takes the protocol from the request line', () => {
    const h = new Harness();
    h.toServer('GET /old HTTP/1.0\r\n\r\n');
    h.toClient('HTTP/1.0 200 OK\r\n\r\nbody until close');
    h.end('toClient');
    expect(h.transactions.map((t) => [t.protocol, t.responseBodySize])).toEqual([['HTTP/1.0', 16]]);
  });

  it('lets chunked win over Content-Length', () => {
    const h = new Harness();
    h.toServer(GET('/x'));
    h.toClient('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n');
    h.toServer(GET('/y'));
    h.toClient(OK(''));
    expect(h.transactions.map((t) => t.responseBodySize)).toEqual([4, 0]);
    expect(h.errors).toEqual([]);
  });

  it('accepts a repeated Content-Length with one value', () => {
    const h = new Harness();
    h.toServer('POST /a HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc');
    h.toClient(OK('ok'));
    expect(h.transactions.map((t) => t.requestBodySize)).toEqual([3]);
  });

  it('keeps headers in order, names lower-cased, values trimmed, folds joined', () => {
    const h = new Harness();
    h.toServer('GET / HTTP/1.1\r\nHost:  example.test \r\nX-Multi: a\r\nx-multi: b\r\nX-Fold: one\r\n  two\r\n\tthree\r\nEmpty:\r\n\r\n');
    h.toClient('HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n');
    expect(h.transactions[0]?.requestHeaders).toEqual([
      ['host', 'example.test'],
      ['x-multi', 'a'],
      ['x-multi', 'b'],
      ['x-fold', 'one two three'],
      ['empty', ''],
    ]);
    expect(h.transactions[0]?.responseHeaders).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['content-length', '0'],
    ]);
  });

  it('accepts bare LF line endings, whole or split', () => {
    const request = 'GET /lf HTTP/1.1\nHost: a\n\n';
    const response = 'HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n';
    for (const piece of [1000, 1]) {
      const h = new Harness();
      for (let i = 0; i < request.length; i += piece) h.toServer(request.slice(i, i + piece));
      for (let i = 0; i < response.length; i += piece) h.toClient(response.slice(i, i + piece));
      h.toServer(GET('/next'));
      h.toClient(OK(''));
      expect(h.transactions.map((t) => [t.target, t.responseBodySize])).toEqual([
        ['/lf', 2],
        ['/next', 0],
      ]);
      expect(h.errors).toEqual([]);
    }
  });

  it('ignores empty lines before a request, as servers do', () => {
    const h = new Harness();
    h.toServer('POST /form HTTP/1.1\r\nContent-Length: 3\r\n\r\na=1\r\n');
    h.toClient(OK(''));
    h.toServer(`\r\n${GET('/next')}`);
    h.toClient(OK('n'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/form', '/next']);
    expect(h.errors).toEqual([]);
    expect(h.parser.stats.resyncs).toBe(0);
  });

  describe('split anywhere', () => {
    const request = 'POST /split?q=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n';
    const response =
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n';
    const expected = {
      method: 'POST',
      target: '/split?q=1',
      requestBodySize: 3,
      status: 200,
      responseBodySize: 5,
      responseHeaders: [
        ['x-folded', 'a b'],
        ['transfer-encoding', 'chunked'],
      ],
    };
    const summary = (h: Harness) =>
      h.transactions.map((t) => ({ ...seen(t), responseHeaders: t.responseHeaders }));

    it('at every single position of each message', () => {
      for (let cut = 0; cut <= Math.max(request.length, response.length); cut++) {
        const h = new Harness();
        h.toServer(request.slice(0, cut));
        h.toServer(request.slice(cut));
        h.toClient(response.slice(0, cut));
        h.toClient(response.slice(cut));
        expect(summary(h)).toEqual([expected]);
        expect(h.errors).toEqual([]);
      }
    });

    it('one byte per read', () => {
      const h = new Harness();
      for (const ch of request) h.toServer(ch);
      for (const ch of response) h.toClient(ch);
      expect(summary(h)).toEqual([expected]);
      expect(h.transactions[0]?.requestEnd).toBeGreaterThan(h.transactions[0]?.requestStart ?? Infinity);
      expect(h.parser.bufferedBytes).toBe(0);
    });
  });

  it('reads a Uint8Array view at an offset into a larger buffer', () => {
    const backing = bytes(`garbage${GET('/view')}garbage`);
    const h = new Harness();
    h.toServer(backing.subarray(7, backing.length - 7));
    h.toClient(OK('v'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/view']);
  });
});
