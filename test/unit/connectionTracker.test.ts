/**
 * The connection layer: roles learned from the kernel or from the bytes,
 * non-HTTP connections given up (and reported so the kernel stops copying
 * them), recycled sockets, and the bounds on what it keeps.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../../collector/conn/ConnectionTracker.js';
import { DataFlags, Direction, EventType, Role, Source, TcpState, type ConnOpenEvent, type DataEvent, type TlsBindEvent } from '../../collector/ebpf/abi.js';

function tuple(sport: number, dport: number): Uint8Array {
  const b = new Uint8Array(40);
  b.set([127, 0, 0, 1], 0);
  b.set([127, 0, 0, 1], 16);
  const v = new DataView(b.buffer);
  v.setUint16(32, sport, true);
  v.setUint16(34, dport, true);
  v.setUint16(36, 2, true);
  return b;
}

let clock = 1_000_000;
/** TCP sequence numbers, as the kernel reads them per socket and direction (near the wrap on purpose). */
const sequence = new Map<string, number>();
function data(sock: bigint, direction: number, text: string, over: Partial<DataEvent> = {}): DataEvent {
  const bytes = new TextEncoder().encode(text);
  const length = over.length ?? bytes.length;
  const key = `${sock}:${direction}`;
  const seq = over.seq ?? sequence.get(key) ?? 0xffffff00;
  sequence.set(key, (seq + length) >>> 0);
  clock += 1000;
  return {
    type: EventType.Data,
    ts: clock,
    tsEnd: clock + 10,
    pid: 100,
    tid: 100,
    sock,
    length,
    offset: 0,
    direction,
    role: Role.Unknown,
    source: 0,
    flags: 0,
    tls: 0n,
    data: bytes,
    ...over,
    seq,
  } as DataEvent;
}

function open(sock: bigint, role: number, local = 8080, remote = 40000): ConnOpenEvent {
  return { type: EventType.ConnOpen, ts: clock, pid: 100, sock, tuple: tuple(local, remote), role };
}

const REQ = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('ConnectionTracker', () => {
  it('a server connection: addresses from its open record, request in, response out', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(1n, Role.Unknown));
    t.onData(data(1n, Direction.Ingress, REQ, { role: Role.Server }));
    t.onData(data(1n, Direction.Egress, RES, { role: Role.Server }));
    const out = t.drain();
    expect(out.transactions).toHaveLength(1);
    expect(out.transactions[0]).toMatchObject({ role: 'server', pid: 100, tx: { method: 'GET', target: '/a', status: 200 } });
    expect(out.transactions[0]!.endpoints.local.port).toBe(8080);
  });

  it('learns the role from the bytes when the connection predates Sonde', () => {
    const t = new ConnectionTracker();
    t.onData(data(2n, Direction.Egress, REQ)); // this process sends a request: it is the client
    t.onData(data(2n, Direction.Ingress, RES));
    expect(t.drain().transactions.map((x) => x.role)).toEqual(['client']);
  });

  it('joins mid-body: skips until a message starts, invents nothing', () => {
    const t = new ConnectionTracker();
    t.onData(data(3n, Direction.Ingress, 'tail of some earlier body'));
    t.onData(data(3n, Direction.Egress, 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')); // response to a request we never saw
    t.onData(data(3n, Direction.Ingress, REQ));
    t.onData(data(3n, Direction.Egress, RES));
    const out = t.drain();
    expect(out.transactions.map((x) => [x.role, x.tx.target])).toEqual([['server', '/a']]);
  });

  it('gives up a connection that does not speak HTTP, and says so once', () => {
    const t = new ConnectionTracker();
    t.onData(data(4n, Direction.Egress, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', { role: Role.Client })); // a TLS hello
    t.onData(data(4n, Direction.Ingress, RES, { role: Role.Client }));
    const out = t.drain();
    expect(out.ignore).toEqual([{ sock: 4n, role: Role.Client, tls: false }]);
    expect(out.transactions).toEqual([]);
    expect(t.stats.ignored).toBe(1);
  });

  it('a request line split into tiny first chunks is held until it can be judged', () => {
    const t = new ConnectionTracker();
    t.onData(data(5n, Direction.Ingress, 'G', { role: Role.Server }));
    t.onData(data(5n, Direction.Ingress, 'ET /split HTTP/1.1\r\n\r\n', { role: Role.Server }));
    t.onData(data(5n, Direction.Egress, RES, { role: Role.Server }));
    expect(t.drain().transactions.map((x) => x.tx.target)).toEqual(['/split']);
  });

  it('a struct sock opened again is a new connection (it was recycled)', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(6n, Role.Unknown));
    t.onData(data(6n, Direction.Ingress, REQ, { role: Role.Server }));
    t.onOpen(open(6n, Role.Client, 40001, 9090));
    t.onData(data(6n, Direction.Egress, REQ, { role: Role.Client }));
    t.onData(data(6n, Direction.Ingress, RES, { role: Role.Client }));
    const out = t.drain();
    expect(out.transactions.map((x) => [x.role, x.endpoints.remote.port])).toEqual([['client', 9090]]);
    expect(t.stats.abandonedRequests).toBe(1);
  });

  it('a response delimited by the server closing ends at its last byte', () => {
    const t = new ConnectionTracker();
    t.onData(data(7n, Direction.Egress, 'GET / HTTP/1.0\r\n\r\n', { role: Role.Client }));
    const body = data(7n, Direction.Ingress, 'HTTP/1.0 200 OK\r\n\r\nall of it', { role: Role.Client });
    t.onData(body);
    expect(t.drain().transactions).toEqual([]);
    t.onData(data(7n, Direction.Ingress, '', { role: Role.Client, flags: DataFlags.Eof, length: 0 }));
    const [tx] = t.drain().transactions;
    expect(tx?.tx.responseBodySize).toBe('all of it'.length);
    expect(tx?.tx.responseEnd).toBe(body.tsEnd);
  });

  it('closed connections leave after their grace; the table never exceeds its bound', () => {
    const t = new ConnectionTracker({ maxConnections: 3, idleTimeoutNs: 1e12, maxDetectBytes: 1024, closeGraceNs: 1000, skipHintBytes: 4096, maxUntiedSessions: 4, maxUntiedRecords: 4 });
    for (let i = 0; i < 5; i++) t.onData(data(BigInt(100 + i), Direction.Ingress, REQ, { role: Role.Server }));
    expect(t.size).toBe(3);
    expect(t.stats.evicted).toBe(2);
    t.onState({ type: EventType.ConnState, ts: clock, sock: 104n, oldState: TcpState.Established, newState: TcpState.Close });
    t.sweep(clock + 500);
    expect(t.size).toBe(3);
    t.sweep(clock + 5000);
    expect(t.size).toBe(2);
  });

  it('idle connections are dropped', () => {
    const t = new ConnectionTracker({ maxConnections: 10, idleTimeoutNs: 1e6, maxDetectBytes: 1024, closeGraceNs: 1e9, skipHintBytes: 4096, maxUntiedSessions: 4, maxUntiedRecords: 4 });
    t.onData(data(200n, Direction.Ingress, REQ, { role: Role.Server }));
    t.sweep(clock + 2e6);
    expect(t.size).toBe(0);
    expect(t.stats.idleClosed).toBe(1);
  });

  it('asks the kernel to skip a long body, and reads the message after it in the same chunk', () => {
    const t = new ConnectionTracker({ maxConnections: 10, idleTimeoutNs: 1e12, maxDetectBytes: 1024, closeGraceNs: 1e9, skipHintBytes: 4096, maxUntiedSessions: 4, maxUntiedRecords: 4 });
    t.onOpen(open(300n, Role.Unknown));
    t.onData(data(300n, Direction.Ingress, 'POST /up HTTP/1.1\r\nContent-Length: 100000\r\n\r\n', { role: Role.Server }));
    const head = 'POST /up HTTP/1.1\r\nContent-Length: 100000\r\n\r\n'.length;
    const out = t.drain();
    expect(out.capture).toEqual([{ sock: 300n, role: Role.Server, from: [null, (0xffffff00 + head + 100_000) >>> 0], tls: false, whole: false }]);
    // The kernel then copies from the hinted position: the next request, 100,000 bytes into a long read.
    const next = 'GET /after HTTP/1.1\r\n\r\n';
    t.onData(data(300n, Direction.Ingress, next, { role: Role.Server, length: 100_000 + next.length, offset: 100_000 }));
    t.onData(data(300n, Direction.Egress, RES, { role: Role.Server }));
    t.onData(data(300n, Direction.Egress, RES, { role: Role.Server }));
    expect(t.drain().transactions.map((x) => [x.tx.method, x.tx.target, x.tx.requestBodySize])).toEqual([
      ['POST', '/up', 100_000],
      ['GET', '/after', 0],
    ]);
  });

  it('bytes of lost records are holes the parser knows about, not silently joined', () => {
    const t = new ConnectionTracker();
    t.onData(data(400n, Direction.Ingress, REQ, { role: Role.Server }));
    const first = data(400n, Direction.Egress, 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n', { role: Role.Server });
    t.onData(first);
    // A record carrying the body was lost: the next one starts 10 bytes later than expected.
    t.onData(data(400n, Direction.Ingress, REQ, { role: Role.Server }));
    t.onData(data(400n, Direction.Egress, RES, { role: Role.Server, seq: (first.seq + first.length + 10) >>> 0 }));
    const out = t.drain();
    expect(out.transactions.map((x) => [x.tx.status, x.tx.responseBodySize])).toEqual([
      [200, 10],
      [200, 2],
    ]);
    expect(t.stats.missingBytes).toBe(10);
    expect(t.stats.unknownEndpoints).toBe(1); // no open record in this test
  });

  it('a connection whose open record was lost still gives spans, without addresses', () => {
    const t = new ConnectionTracker();
    t.onData(data(500n, Direction.Ingress, REQ, { role: Role.Server }));
    t.onData(data(500n, Direction.Egress, RES, { role: Role.Server }));
    const [tx] = t.drain().transactions;
    expect(tx?.endpoints.remote.address).toBe('');
    expect(t.stats.unknownEndpoints).toBe(1);
  });
});

/** TLS plaintext, as the uprobes report it: positions in the session's own stream, from 0. */
function tlsData(sock: bigint, session: bigint, direction: number, text: string, seq: number): DataEvent {
  return { ...data(sock, direction, text, { seq }), source: Source.Tls, tls: session };
}

function bind(sock: bigint, session: bigint): TlsBindEvent {
  return { type: EventType.TlsBind, ts: clock, pid: 100, sock, tls: session };
}

describe('ConnectionTracker, TLS', () => {
  const HELLO = '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03';

  it('ciphertext first, then plaintext: the connection starts afresh as TLS, and its spans say so', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(10n, Role.Client, 40000, 443));
    t.onData(data(10n, Direction.Egress, HELLO, { role: Role.Client }));
    expect(t.drain().ignore).toEqual([{ sock: 10n, role: Role.Client, tls: false }]);
    t.onData(tlsData(10n, 0xabcn, Direction.Egress, REQ, 0));
    // Ciphertext that overtook the kernel's switch is counted, not parsed.
    t.onData(data(10n, Direction.Ingress, '\x17\x03\x03\x00\x20garbage', { role: Role.Client }));
    t.onData(tlsData(10n, 0xabcn, Direction.Ingress, RES, 0));
    const out = t.drain();
    expect(out.capture).toEqual([{ sock: 10n, role: Role.Client, tls: true, whole: false, from: [null, null] }]);
    expect(out.transactions).toHaveLength(1);
    expect(out.transactions[0]).toMatchObject({ role: 'client', tls: true, tx: { target: '/a', status: 200 } });
    expect(t.stats).toMatchObject({ tlsConnections: 1, ciphertextRecords: 1 });
  });

  it('plaintext written before its socket is known waits for the bind, then goes in order', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(11n, Role.Client, 40001, 443));
    t.onData(tlsData(0n, 0xdefn, Direction.Egress, REQ, 0));
    expect(t.drain().transactions).toEqual([]);
    t.onTlsBind(bind(11n, 0xdefn));
    t.onData(tlsData(11n, 0xdefn, Direction.Ingress, RES, 0));
    const out = t.drain();
    expect(out.transactions).toHaveLength(1);
    expect(out.transactions[0]).toMatchObject({ tls: true, endpoints: { remote: { port: 443 } } });
  });

  it('a read of 0 on the socket still ends the plaintext stream (HTTP/1.0 read to close)', () => {
    const t = new ConnectionTracker();
    t.onOpen(open(12n, Role.Client, 40002, 443));
    t.onData(tlsData(12n, 1n, Direction.Egress, REQ, 0));
    t.onData(tlsData(12n, 1n, Direction.Ingress, 'HTTP/1.0 200 ok\r\n\r\nbody', 0));
    expect(t.drain().transactions).toEqual([]);
    t.onData(data(12n, Direction.Ingress, '', { role: Role.Client, flags: DataFlags.Eof, length: 0 }));
    expect(t.drain().transactions).toHaveLength(1);
  });

  it('waiting plaintext is bounded and counted; a process that exits gives up its sessions', () => {
    const t = new ConnectionTracker({ maxConnections: 10, idleTimeoutNs: 1e12, maxDetectBytes: 1024, closeGraceNs: 1e9, skipHintBytes: 4096, maxUntiedSessions: 2, maxUntiedRecords: 2 });
    for (let i = 0; i < 3; i++) t.onData(tlsData(0n, 7n, Direction.Egress, REQ, i * REQ.length));
    t.onData(tlsData(0n, 8n, Direction.Egress, REQ, 0));
    t.onData(tlsData(0n, 9n, Direction.Egress, REQ, 0));
    expect(t.stats.untiedTlsRecords).toBe(2); // one over the record bound, one over the session bound
    // Sessions remembered per process are bounded too (the kernel's LRU ages out the rest).
    expect(t.forgetProcess(100).sort()).toEqual([7n, 8n]);
    expect(t.stats.untiedTlsRecords).toBe(5);
    expect(t.forgetProcess(100)).toEqual([]);
  });
});
