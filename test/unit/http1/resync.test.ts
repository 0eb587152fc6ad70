import { describe, it, expect } from 'vitest';
import { Harness } from './harness.js';

const GET = (target: string) => `GET ${target} HTTP/1.1\r\nHost: example.test\r\n\r\n`;
const OK = (body: string) => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

describe('Http1Parser joining mid-stream and resynchronising', () => {
  it('skips the tail of a request body it joined in, without an error', () => {
    const h = new Harness();
    h.toServer('rest of a form body&x=1\r\nmore');
    h.toServer('end of it');
    h.toServer(GET('/first-seen'));
    h.toClient(OK('ok'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/first-seen']);
    expect(h.errors).toEqual([]);
    expect(h.parser.stats.skippedBytes).toBe(38);
  });

  it('finds a request after a line end in the read it joined in', () => {
    const h = new Harness();
    h.toServer(`{"json":"tail"}\r\n${GET('/a')}`);
    h.toClient(OK('a'));
    expect(h.transactions.map((t) => t.target)).toEqual(['/a']);
    expect(h.parser.stats.skippedBytes).toBe(17);
  });

  it('silently drops responses to requests sent before it joined', () => {
    const h = new Harness();
    h.toClient('dy of an earlier response\r\n');
    h.toClient(OK('answer to a request never seen'));
    h.toServer(GET('/seen'));
    h.toClient(OK('seen'));
    expect(h.transactions.map((t) => [t.target, t.responseBodySize])).toEqual([['/seen', 4]]);
    expect(h.errors).toEqual([]);
  });

  it('counts a response with no request once requests have been seen', () => {
    const h = new Harness();
    h.toServer(GET('/a'));
    h.toClient(OK('a'));
    h.toClient(OK('extra'));
    h.toServer(GET('/b'));
    h.toClient(OK('b'));
    expect(h.codes).toEqual(['unexpected-response']);
    expect(h.errors[0]?.direction).toBe('toClient');
    expect(h.transactions.map((t) => [t.target, t.responseBodySize])).toEqual([
      ['/a', 1],
      ['/b', 1],
    ]);
  });

  it('does not take "GET " inside a line of a body for a request', () => {
    const h = new Harness();
    h.toServer('binary\x00\x01 GET / HTTP/1.1\r\n\r\n');
    expect(h.parser.pending).toBe(0);
    expect(h.parser.stats.skippedBytes).toBe(27);
  });

  it('never looks inside a framed body, even at line starts', () => {
    const h = new Harness();
    const body = `line\r\n${GET('/fake')}`;
    h.toServer(`POST /real HTTP/1.1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    h.toClient(OK(`\r\n${OK('fake')}`));
    expect(h.transactions.map((t) => t.target)).toEqual(['/real']);
    expect(h.parser.pending).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it('recovers from a bad request line at the next request', () => {
    const h = new Harness();
    h.toServer(GET('/1'));
    h.toClient(OK('1'));
    h.toServer(`BREW /pot HTCPCP/1.0\r\nAccept-Additions: milk\r\n\r\n${GET('/2')}`);
    h.toClient(OK('2'));
    expect(h.codes).toEqual(['bad-start-line']);
    expect(h.transactions.map((t) => t.target)).toEqual(['/1', '/2']);
    expect(h.parser.stats.resyncs).toBe(1);
  });

  it('recovers from a bad header line at the next request, one read later', () => {
    const h = new Harness();
    h.toServer(GET('/1'));
    h.toClient(OK('1'));
    h.toServer('GET /bad HTTP/1.1\r\nNo colon here\r\n\r\n');
    h.toServer(GET('/2'));
    h.toClient(OK('2'));
    expect(h.codes).toEqual(['bad-header']);
    expect(h.transactions.map((t) => t.target)).toEqual(['/1', '/2']);
  });

  it('rejects malformed status lines', () => {
    for (const line of ['HTTP/1.1 2000 OK', 'HTTP/1.1 20 OK', 'HTTP/2.0 200 OK', 'HTTP/1.1 099 Low', 'HTTP/1.1 200\tOK']) {
      const h = new Harness();
      h.toServer(GET('/0'));
      h.toClient(OK('0'));
      h.toServer(GET('/1'));
      h.toClient(`${line}\r\nContent-Length: 0\r\n\r\n`);
      expect(h.codes).toEqual(['bad-start-line']);
      expect(h.parser.pending).toBe(0);
    }
  });

  it('recovers from a broken response at the next status line', () => {
    const h = new Harness();
    h.toServer(GET('/1'));
    h.toClient('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n');
    h.toServer(GET('/2'));
    h.toClient(OK('2'));
    expect(h.codes).toEqual(['bad-chunk-size']);
    expect(h.transactions.map((t) => t.target)).toEqual(['/2']);
    expect(h.parser.pending).toBe(0);
  });

  it('accepts any token as a method in sync, only plausible ones while seeking', () => {
    const inSync = new Harness();
    inSync.toServer(GET('/0'));
    inSync.toClient(OK(''));
    inSync.toServer('get /lower HTTP/1.1\r\n\r\nM-SEARCH * HTTP/1.1\r\n\r\n');
    inSync.toClient(OK('') + OK(''));
    expect(inSync.transactions.map((t) => t.method)).toEqual(['GET', 'get', 'M-SEARCH']);

    const seeking = new Harness();
    seeking.toServer('get /lower HTTP/1.1\r\n\r\nFOO bar HTTP/1.1\r\n\r\nNOTIFY /x SIP/2.0\r\n\r\n');
    seeking.toServer('PROPFIND /dav/ HTTP/1.1\r\nDepth: 1\r\n\r\nPURGE http://cache/x HTTP/1.1\r\n\r\n');
    seeking.toClient(OK('') + OK(''));
    expect(seeking.transactions.map((t) => [t.method, t.target])).toEqual([
      ['PROPFIND', '/dav/'],
      ['PURGE', 'http://cache/x'],
    ]);
    expect(seeking.errors).toEqual([]);
  });

  it('matches pipelined responses first in, first out', () => {
    const h = new Harness();
    h.toServer(GET('/1') + GET('/2') + GET('/3'));
    expect(h.parser.pending).toBe(3);
    h.toClient(OK('one'));
    expect(h.parser.pending).toBe(2);
    h.toClient(OK('two') + OK('three'));
    expect(h.transactions.map((t) => [t.target, t.responseBodySize])).toEqual([
      ['/1', 3],
      ['/2', 3],
      ['/3', 5],
    ]);
    expect(h.parser.pending).toBe(0);
  });

  it('drops requests left unanswered when the server side closes', () => {
    const h = new Harness();
    h.toServer(GET('/1') + GET('/2'));
    h.toClient(OK('1'));
    h.end('toClient');
    expect(h.parser.pending).toBe(0);
    expect(h.transactions.map((t) => t.target)).toEqual(['/1']);
    expect(h.errors).toEqual([]);
  });

  it('keeps waiting for the response after the client half-closes', () => {
    const h = new Harness();
    h.toServer(GET('/1'));
    h.end('toServer');
    h.toClient(OK('1'));
    expect(h.transactions.map((t) => [t.target, t.truncated])).toEqual([['/1', false]]);
  });

  it('emits a request cut by the close, as truncated, if the server answered', () => {
    const h = new Harness();
    h.toServer('POST /big HTTP/1.1\r\nContent-Length: 100000\r\n\r\npart');
    h.toClient('HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n');
    expect(h.transactions).toEqual([]);
    h.end('toServer');
    expect(h.transactions.map((t) => [t.status, t.requestBodySize, t.truncated])).toEqual([[413, 4, true]]);
  });

  it('emits a response cut by the close as truncated, and drops a partial head', () => {
    const h = new Harness();
    h.toServer(GET('/1') + GET('/2'));
    h.toClient('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    h.end('toClient');
    expect(h.transactions.map((t) => [t.target, t.responseBodySize, t.truncated])).toEqual([['/1', 3, true]]);
    const partial = new Harness();
    partial.toServer(GET('/1'));
    partial.toClient('HTTP/1.1 200 OK\r\nContent-');
    partial.end('toClient');
    expect(partial.transactions).toEqual([]);
    expect(partial.errors).toEqual([]);
  });
});
