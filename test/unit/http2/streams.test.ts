import { describe, expect, it } from 'vitest';
import { grpcStatusCode } from '../../../protocols/grpc/status.js';
import { Http2Parser } from '../../../protocols/http2/Http2Parser.js';
import type { FlowDirection } from '../../../protocols/types.js';
import { block, CLIENT_PREFACE, concat, frame, indexed, indexedLiteral, literal, settings } from './frames.js';

const DATA = 0x0;
const HEADERS = 0x1;
const RST_STREAM = 0x3;
const GOAWAY = 0x7;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;

function connection(opts: { midway?: boolean } = {}) {
  const p = new Http2Parser(opts);
  let ts = 0;
  const send = (dir: FlowDirection, data: Uint8Array, length = data.length): void => {
    ts += 1000;
    p.push(dir, { data, length, tsFirst: ts, tsLast: ts + 10 });
  };
  if (!opts.midway) {
    send('toServer', concat(CLIENT_PREFACE, settings()));
    send('toClient', settings());
  }
  return { p, send };
}

const grpcRequest = (id: number, path: string, extra: number[][] = []): Uint8Array =>
  frame(HEADERS, END_HEADERS, id, block(indexed(3), indexed(6), literal(':path', path), literal(':authority', 'svc:50051'), literal('content-type', 'application/grpc'), ...extra));
const message = (id: number, end = true): Uint8Array => frame(DATA, end ? END_STREAM : 0, id, [0, 0, 0, 0, 2, 0x0a, 0x00]);
const okHead = (id: number): Uint8Array => frame(HEADERS, END_HEADERS, id, block(indexed(8), literal('content-type', 'application/grpc')));
const trailers = (id: number, code: number): Uint8Array => frame(HEADERS, END_HEADERS | END_STREAM, id, block(literal('grpc-status', String(code))));

describe('HTTP/2 streams to transactions', () => {
  it('a header block over HEADERS (padded, with priority) and two CONTINUATIONs, split across reads, decodes whole', () => {
    const { p, send } = connection();
    const fields = block(indexed(2), indexed(6), literal(':path', '/long'), literal(':authority', 'h'), literal('x-long', 'v'.repeat(5000)));
    const a = fields.subarray(0, 1000);
    const b = fields.subarray(1000, 3000);
    const c = fields.subarray(3000);
    const head = frame(HEADERS, PADDED | PRIORITY | END_STREAM, 1, concat(new Uint8Array([3]), new Uint8Array(5), a, new Uint8Array(3)));
    const all = concat(head, frame(CONTINUATION, 0, 1, b), frame(CONTINUATION, END_HEADERS, 1, c));
    for (let at = 0; at < all.length; at += 700) send('toServer', all.subarray(at, at + 700));
    send('toClient', frame(HEADERS, END_HEADERS | END_STREAM, 1, block(indexed(8))));
    const { transactions, errors } = p.drain();
    expect(errors).toEqual([]);
    expect(transactions).toHaveLength(1);
    expect(transactions[0]).toMatchObject({ method: 'GET', target: '/long', status: 200 });
    expect(transactions[0]!.requestHeaders.find(([n]) => n === 'x-long')![1]).toHaveLength(5000);
  });

  it('a DATA frame larger than the capture: the uncaptured rest of it is counted, the next frame read in place', () => {
    const { p, send } = connection();
    send('toServer', frame(HEADERS, END_HEADERS | END_STREAM, 1, block(indexed(2), indexed(6), literal(':path', '/big'))));
    const body = frame(DATA, 0, 1, new Uint8Array(16000));
    send('toClient', concat(frame(HEADERS, END_HEADERS, 1, block(indexed(8))), body).subarray(0, 4096), 9 + 1 + 9 + 16000);
    send('toClient', frame(DATA, END_STREAM, 1, new Uint8Array(10)));
    const [t] = p.drain().transactions;
    expect(t).toMatchObject({ target: '/big', status: 200, responseBodySize: 16010, truncated: false });
    expect(p.skippable('toClient')).toBe(0);
  });

  it('asks capture to skip the rest of a long DATA frame', () => {
    const { p, send } = connection();
    send('toServer', frame(HEADERS, END_HEADERS | END_STREAM, 1, block(indexed(2), indexed(6), literal(':path', '/big'))));
    send('toClient', concat(frame(HEADERS, END_HEADERS, 1, block(indexed(8))), frame(DATA, 0, 1, new Uint8Array(16000)).subarray(0, 1000)));
    expect(p.skippable('toClient')).toBe(16000 - 991);
  });

  it('gRPC unary OK, Trailers-Only failure, and hundreds of interleaved calls each become one transaction with their status', () => {
    const { p, send } = connection();
    const ids = Array.from({ length: 300 }, (_, i) => 2 * i + 1);
    send('toServer', concat(...ids.map((id) => concat(grpcRequest(id, `/pkg.Svc/M${id}`), message(id)))));
    // Answered in reverse, each in its own read; every third fails with NOT_FOUND in one block.
    for (const id of [...ids].reverse()) {
      if (id % 3 === 0) send('toClient', frame(HEADERS, END_HEADERS | END_STREAM, id, block(indexed(8), literal('content-type', 'application/grpc'), literal('grpc-status', '5'))));
      else send('toClient', concat(okHead(id), message(id, false), trailers(id, 0)));
    }
    const { transactions, errors } = p.drain();
    expect(errors).toEqual([]);
    expect(transactions).toHaveLength(300);
    for (const t of transactions) {
      const id = Number(t.target.slice('/pkg.Svc/M'.length));
      expect(grpcStatusCode(t)).toBe(id % 3 === 0 ? 5 : 0);
      expect(t.requestBodySize).toBe(7);
    }
  });

  it('RST_STREAM mid-call ends the call with its code; a client cancel at the grpc-timeout is DEADLINE_EXCEEDED', () => {
    const { p, send } = connection();
    send('toServer', concat(grpcRequest(1, '/pkg.Svc/Slow', [literal('grpc-timeout', '1n')]), message(1)));
    send('toServer', frame(RST_STREAM, 0, 1, [0, 0, 0, 8]));
    send('toServer', concat(grpcRequest(3, '/pkg.Svc/Cancelled', [literal('grpc-timeout', '1S')]), message(3)));
    send('toServer', frame(RST_STREAM, 0, 3, [0, 0, 0, 8]));
    send('toServer', concat(grpcRequest(5, '/pkg.Svc/Refused'), message(5)));
    send('toClient', frame(RST_STREAM, 0, 5, [0, 0, 0, 7]));
    const { transactions } = p.drain();
    expect(transactions.map((t) => [t.target, t.resetCode, grpcStatusCode(t)])).toEqual([
      ['/pkg.Svc/Slow', 8, 4],
      ['/pkg.Svc/Cancelled', 8, 1],
      ['/pkg.Svc/Refused', 7, 14],
    ]);
  });

  it('GOAWAY drops the streams the server never took, keeps the ones it answers', () => {
    const { p, send } = connection();
    send('toServer', concat(grpcRequest(1, '/pkg.Svc/A'), message(1), grpcRequest(3, '/pkg.Svc/B'), message(3)));
    send('toClient', concat(okHead(1), frame(GOAWAY, 0, 0, [0, 0, 0, 1, 0, 0, 0, 0])));
    send('toClient', concat(message(1, false), trailers(1, 0)));
    expect(p.drain().transactions.map((t) => t.target)).toEqual(['/pkg.Svc/A']);
    expect(p.pending).toBe(0);
    expect(p.stats.droppedStreams).toBe(1);
  });

  it('the connection closing cuts the calls that had begun to answer, drops the others', () => {
    const { p, send } = connection();
    send('toServer', concat(grpcRequest(1, '/pkg.Svc/Stream'), message(1), grpcRequest(3, '/pkg.Svc/Waiting'), message(3)));
    send('toClient', concat(okHead(1), message(1, false)));
    p.end('toClient', 99999);
    const { transactions } = p.drain();
    expect(transactions.map((t) => [t.target, t.truncated])).toEqual([['/pkg.Svc/Stream', true]]);
  });

  it('joined midway: a :path from the unseen dynamic table is marked, never guessed; a later literal is read', () => {
    const { p, send } = connection({ midway: true });
    // Index 62 was inserted by a block sent before we joined.
    send('toServer', concat(frame(HEADERS, END_HEADERS, 1, block(indexed(3), indexed(62), literal('content-type', 'application/grpc'))), message(1)));
    send('toClient', concat(okHead(1), message(1, false), trailers(1, 0)));
    send('toServer', concat(frame(HEADERS, END_HEADERS, 3, block(indexed(3), indexedLiteral(':path', '/pkg.Svc/New'), literal('content-type', 'application/grpc'))), message(3)));
    send('toClient', concat(okHead(3), message(3, false), trailers(3, 0)));
    // Now index 62 is the entry we saw inserted.
    send('toServer', concat(frame(HEADERS, END_HEADERS, 5, block(indexed(3), indexed(62), literal('content-type', 'application/grpc'))), message(5)));
    send('toClient', concat(okHead(5), message(5, false), trailers(5, 0)));
    const { transactions, errors } = p.drain();
    expect(transactions.map((t) => [t.method, t.target, t.unrecovered])).toEqual([
      ['POST', '', ['path', 'authority']],
      ['POST', '/pkg.Svc/New', undefined],
      ['POST', '/pkg.Svc/New', undefined],
    ]);
    expect(errors.filter((e) => e.code === 'headers-unrecovered')).toHaveLength(1);
  });
});
