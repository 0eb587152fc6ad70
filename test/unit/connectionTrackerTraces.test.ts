/** What the connection layer tells about requests for placing spans in traces. */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../../collector/conn/ConnectionTracker.js';
import { Direction, EventType, Role, type ConnOpenEvent, type DataEvent } from '../../collector/ebpf/abi.js';

type Ep = { address: string; port: number };
const client: Ep = { address: '127.0.0.1', port: 40000 };
const server: Ep = { address: '127.0.0.1', port: 8080 };
const REQ = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: s\r\n\r\n`;
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

function open(sock: bigint, role: number, local: Ep, remote: Ep, pid: number): ConnOpenEvent {
  const t = new Uint8Array(40);
  const v = new DataView(t.buffer);
  t.set([127, 0, 0, 1], 0);
  t.set([127, 0, 0, 1], 16);
  v.setUint16(32, local.port, true);
  v.setUint16(34, remote.port, true);
  v.setUint16(36, 2, true);
  return { type: EventType.ConnOpen, ts: 1, pid, sock, tuple: t, role } as ConnOpenEvent;
}

let clock = 100;
function data(sock: bigint, direction: number, text: string, seq: number, who: { pid: number; tid: number; role: number }): DataEvent {
  const bytes = new Uint8Array(Buffer.from(text, 'latin1'));
  clock += 10;
  return { type: EventType.Data, ts: clock, tsEnd: clock + 1, pid: who.pid, tid: who.tid, sock, length: bytes.length, offset: 0, direction, role: who.role, source: 0, flags: 0, tls: 0n, data: bytes, seq } as DataEvent;
}

describe('ConnectionTracker for traces', () => {
  it('both ends of a connection name each request alike (positions wrap past 2^32), and see each other', () => {
    const t = new ConnectionTracker();
    const c = { pid: 1, tid: 1, role: Role.Client };
    const s = { pid: 2, tid: 2, role: Role.Unknown };
    t.onOpen(open(1n, Role.Client, client, server, 1));
    t.onOpen(open(2n, Role.Unknown, server, client, 2));
    const isn = 0xfffffff0;
    const second = (isn + REQ('/one').length) >>> 0;
    t.onData(data(1n, Direction.Egress, REQ('/one'), isn, c));
    t.onData(data(2n, Direction.Ingress, REQ('/one'), isn, s));
    t.onData(data(2n, Direction.Egress, RES, 500, s));
    t.onData(data(1n, Direction.Ingress, RES, 500, c));
    t.onData(data(1n, Direction.Egress, REQ('/two'), second, c));
    t.onData(data(2n, Direction.Ingress, REQ('/two'), second, s));
    t.onData(data(2n, Direction.Egress, RES, 500 + RES.length, s));
    t.onData(data(1n, Direction.Ingress, RES, 500 + RES.length, c));
    const out = t.drain();
    const pair = '127.0.0.1:40000>127.0.0.1:8080';
    expect(out.started.map((x) => [x.role, x.req.target, x.exchange])).toEqual([
      ['client', '/one', `${pair}@${isn}`],
      ['server', '/one', `${pair}@${isn}`],
      ['client', '/two', `${pair}@${second}`],
      ['server', '/two', `${pair}@${second}`],
    ]);
    expect(out.transactions.map((x) => [x.role, x.tx.target, x.mirrored])).toEqual([
      ['server', '/one', true],
      ['client', '/one', true],
      ['server', '/two', true],
      ['client', '/two', true],
    ]);
    // A client's transaction names its exchange (to free its entry); each carries the very request its start reported.
    expect(out.transactions.filter((x) => x.role === 'client').map((x) => x.exchange)).toEqual([`${pair}@${isn}`, `${pair}@${second}`]);
    expect(out.transactions.every((x) => out.started.some((st) => st.req === x.tx.start))).toBe(true);
  });

  it('a call sent by the thread serving one connection names that request; a pool thread (two connections) names none', () => {
    const t = new ConnectionTracker();
    const app = (tid: number, role: number) => ({ pid: 7, tid, role });
    // Thread 11 serves connection 10 and, while its request is unanswered, calls out on connection 20.
    t.onData(data(10n, Direction.Ingress, REQ('/in'), 0, app(11, Role.Unknown)));
    t.onOpen(open(20n, Role.Client, { address: '127.0.0.1', port: 50000 }, { address: '127.0.0.1', port: 9000 }, 7));
    t.onData(data(20n, Direction.Egress, REQ('/out'), 0, app(11, Role.Client)));
    // Another thread's call is not tied to it.
    t.onOpen(open(21n, Role.Client, { address: '127.0.0.1', port: 50001 }, { address: '127.0.0.1', port: 9000 }, 7));
    t.onData(data(21n, Direction.Egress, REQ('/other'), 0, app(12, Role.Client)));
    let started = t.drain().started;
    const served = started.find((x) => x.req.target === '/in')!.req;
    expect(started.find((x) => x.req.target === '/out')!.servedBy).toBe(served);
    expect(started.find((x) => x.req.target === '/other')!.servedBy).toBeUndefined();

    // Thread 11 then reads a second connection: it is a pool thread, its calls are tied no more.
    t.onData(data(10n, Direction.Egress, RES, 0, app(11, Role.Unknown)));
    t.onData(data(30n, Direction.Ingress, REQ('/in2'), 0, app(11, Role.Unknown)));
    t.onData(data(20n, Direction.Egress, REQ('/out2'), REQ('/out').length, app(11, Role.Client)));
    started = t.drain().started;
    expect(started.find((x) => x.req.target === '/out2')!.servedBy).toBeUndefined();
  });
});
