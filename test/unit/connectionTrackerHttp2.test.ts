/** The connection layer with HTTP/2: detection and h2c Upgrade. */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../../collector/conn/ConnectionTracker.js';
import { Direction, EventType, Role, type DataEvent } from '../../collector/ebpf/abi.js';
import { block, CLIENT_PREFACE, concat, frame, indexed, literal, settings } from './http2/frames.js';

const HEADERS = 0x1;
const DATA = 0x0;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

let clock = 1_000_000;
const next = new Map<string, number>();
function rec(sock: bigint, direction: number, bytes: Uint8Array): DataEvent {
  const key = `${sock}:${direction}`;
  const seq = next.get(key) ?? 1000;
  next.set(key, seq + bytes.length);
  clock += 1000;
  return { type: EventType.Data, ts: clock, tsEnd: clock + 10, pid: 7, tid: 7, sock, length: bytes.length, offset: 0, direction, role: Role.Unknown, source: 0, flags: 0, tls: 0n, data: bytes, seq } as DataEvent;
}
const text = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

describe('ConnectionTracker with HTTP/2', () => {
  it('an accepted connection whose server speaks first (SETTINGS): a server, HTTP/2', () => {
    const t = new ConnectionTracker();
    t.onData(rec(1n, Direction.Egress, settings()));
    t.onData(rec(1n, Direction.Ingress, concat(CLIENT_PREFACE, settings(), frame(HEADERS, END_HEADERS | END_STREAM, 1, block(indexed(2), indexed(6), literal(':path', '/x'))))));
    t.onData(rec(1n, Direction.Egress, concat(frame(HEADERS, END_HEADERS, 1, block(indexed(8))), frame(DATA, END_STREAM, 1, text('hi')))));
    const out = t.drain();
    expect(out.transactions.map((x) => [x.role, x.tx.protocol, x.tx.method, x.tx.target, x.tx.status, x.tx.responseBodySize])).toEqual([['server', 'HTTP/2', 'GET', '/x', 200, 2]]);
    expect(out.errors).toEqual([]);
    // Frames of many streams share long calls: the kernel is told to copy this connection whole.
    expect(out.capture).toEqual([{ sock: 1n, role: Role.Server, tls: false, whole: true, from: [null, null] }]);
  });

  it('an HTTP/1 connection is not copied whole', () => {
    const t = new ConnectionTracker();
    t.onData(rec(3n, Direction.Ingress, text('GET / HTTP/1.1\r\nHost: h\r\n\r\n')));
    expect(t.drain().capture).toEqual([]);
  });

  it('h2c by Upgrade: the request is answered on stream 1, even when the 101 and the first frames share a write; no 101 span', () => {
    const t = new ConnectionTracker();
    const sock = 2n;
    t.onData(rec(sock, Direction.Egress, text('GET /up HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n')));
    t.onData(rec(sock, Direction.Ingress, concat(text('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n'), settings(), frame(HEADERS, END_HEADERS, 1, block(indexed(8))))));
    t.onData(rec(sock, Direction.Egress, concat(CLIENT_PREFACE, settings())));
    t.onData(rec(sock, Direction.Ingress, frame(DATA, END_STREAM, 1, text('upgraded'))));
    const out = t.drain();
    expect(out.transactions.map((x) => [x.role, x.tx.protocol, x.tx.method, x.tx.target, x.tx.status, x.tx.responseBodySize])).toEqual([['client', 'HTTP/2', 'GET', '/up', 200, 8]]);
    expect(out.capture.map((c) => c.whole)).toEqual([true]);
  });
});
