/** Both ends of one request on this host: one trace, the SERVER span the CLIENT span's child. */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../../collector/conn/ConnectionTracker.js';
import { Direction, EventType, Role, type ConnOpenEvent, type DataEvent } from '../../collector/ebpf/abi.js';
import { PeerLinks } from '../../collector/spans/PeerLinks.js';

const A = { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16) };

describe('PeerLinks', () => {
  it('the server first: it fixes the ids the client then takes', () => {
    const links = new PeerLinks();
    const fixed = links.meet('k', 'server', 'GET /', undefined)!;
    expect(fixed.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(links.meet('k', 'client', 'GET /', A)).toEqual(expect.objectContaining(fixed));
    expect(links.size).toBe(0);
  });

  it('the client first: the server gets the client’s own ids', () => {
    const links = new PeerLinks();
    expect(links.meet('k', 'client', 'GET /', A)).toBe(A);
    expect(links.meet('k', 'server', 'GET /', undefined)).toEqual(expect.objectContaining(A));
  });

  it('ends that disagree about the request are not linked', () => {
    const links = new PeerLinks();
    links.meet('k', 'client', 'GET /a', A);
    expect(links.meet('k', 'server', 'GET /b', undefined)).toBeUndefined();
  });

  it('is bounded: the oldest unmet end goes, counted', () => {
    const links = new PeerLinks(2);
    for (const k of ['1', '2', '3']) links.meet(k, 'server', 'GET /', undefined);
    expect(links.size).toBe(2);
    expect(links.dropped).toBe(1);
    expect(links.meet('1', 'client', 'GET /', A)).toBe(A); // evicted: the client keeps its own ids
  });
});

describe('ConnectionTracker: both ends of a connection name each request alike', () => {
  const client = { address: '127.0.0.1', port: 40000 };
  const server = { address: '127.0.0.1', port: 8080 };
  const tuple = (local: typeof client, remote: typeof client) => {
    const t = new Uint8Array(40);
    const v = new DataView(t.buffer);
    t.set([127, 0, 0, 1], 0);
    t.set([127, 0, 0, 1], 16);
    v.setUint16(32, local.port, true);
    v.setUint16(34, remote.port, true);
    v.setUint16(36, 2, true);
    return t;
  };
  const open = (sock: bigint, role: number, local: typeof client, remote: typeof client): ConnOpenEvent =>
    ({ type: EventType.ConnOpen, ts: 1, pid: Number(sock), sock, tuple: tuple(local, remote), role }) as ConnOpenEvent;
  const data = (sock: bigint, direction: number, text: string, seq: number, role: number): DataEvent => {
    const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
    return { type: EventType.Data, ts: 10, tsEnd: 11, pid: Number(sock), tid: 1, sock, length: bytes.length, offset: 0, direction, role, source: 0, flags: 0, tls: 0n, data: bytes, seq } as DataEvent;
  };

  it('the client end and the server end give the same exchange for each request, and see each other', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(1n, Role.Client, client, server));
    t.onOpen(open(2n, Role.Unknown, server, client));
    const req1 = 'GET /one HTTP/1.1\r\nHost: s\r\n\r\n';
    const req2 = 'GET /two HTTP/1.1\r\nHost: s\r\n\r\n';
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    const isn = 0xfffffff0; // the positions wrap past 2^32 on the way
    t.onData(data(1n, Direction.Egress, req1, isn, Role.Client));
    t.onData(data(2n, Direction.Ingress, req1, isn, Role.Unknown));
    t.onData(data(2n, Direction.Egress, res, 500, Role.Unknown));
    t.onData(data(1n, Direction.Ingress, res, 500, Role.Client));
    t.onData(data(1n, Direction.Egress, req2, (isn + req1.length) >>> 0, Role.Client));
    t.onData(data(2n, Direction.Ingress, req2, (isn + req1.length) >>> 0, Role.Unknown));
    t.onData(data(2n, Direction.Egress, res, 500 + res.length, Role.Unknown));
    t.onData(data(1n, Direction.Ingress, res, 500 + res.length, Role.Client));
    const txs = t.drain().transactions;
    const byRole = (role: string) => txs.filter((x) => x.role === role).map((x) => [x.tx.target, x.exchange, x.mirrored]);
    expect(byRole('server')).toEqual(byRole('client'));
    expect(byRole('client')).toEqual([
      ['/one', `127.0.0.1:40000>127.0.0.1:8080@${isn}`, true],
      ['/two', `127.0.0.1:40000>127.0.0.1:8080@${(isn + req1.length) >>> 0}`, true],
    ]);
  });
});
