/**
 * Context propagation as userspace sees it: the kernel wrote a traceparent
 * into a send (an inject record, before that send's data records, which
 * carry the bytes the process wrote, positioned from the stream's end
 * after the call). ConnectionTracker splices the header in where the
 * kernel put it, so the request parses as the server got it and no false
 * gap shows; a record that does not fit drops the injection, counted.
 * Also where the cgroup v2 root is found, from /proc/self/mounts text.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker } from '../../collector/conn/ConnectionTracker.js';
import { Direction, EventType, Role, type DataEvent, type InjectEvent } from '../../collector/ebpf/abi.js';
import { cgroup2Root } from '../../collector/ebpf/Injector.js';

const TRACE_ID = 'aa'.repeat(16);
const SPAN_ID = 'bb'.repeat(8);
const HEADER = `traceparent: 00-${TRACE_ID}-${SPAN_ID}-01\r\n`;
const LINE = 'GET /down HTTP/1.1\r\n';
const REQ = `${LINE}Host: b\r\n\r\n`;
const RES = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';

function tuple(sport: number, dport: number): Uint8Array {
  const b = new Uint8Array(40);
  b.set([10, 254, 0, 1], 0);
  b.set([10, 254, 0, 2], 16);
  const v = new DataView(b.buffer);
  v.setUint16(32, sport, true);
  v.setUint16(34, dport, true);
  v.setUint16(36, 2, true);
  return b;
}

let clock = 1e9;
function data(direction: number, text: string, seq: number, tid = 7): DataEvent {
  const bytes = new TextEncoder().encode(text);
  clock += 1000;
  return {
    type: EventType.Data, ts: clock, tsEnd: clock + 10, pid: 7, tid, sock: 1n, length: bytes.length, seq, offset: 0,
    direction, role: Role.Client, source: 0, flags: 0, tls: 0n, data: bytes,
  };
}

function inject(at = LINE.length): InjectEvent {
  return {
    type: EventType.Inject, ts: clock, pid: 7, tid: 7, tuple: tuple(40000, 80),
    traceId: Buffer.from(TRACE_ID, 'hex'), spanId: Buffer.from(SPAN_ID, 'hex'), at, length: HEADER.length, size: REQ.length,
  };
}

const open = (t: ConnectionTracker): void => t.onOpen({ type: EventType.ConnOpen, ts: clock, pid: 7, sock: 1n, tuple: tuple(40000, 80), role: Role.Client });
const traceparentOf = (t: ConnectionTracker): string | undefined =>
  t.drain().transactions[0]?.tx.requestHeaders.find(([name]) => name === 'traceparent')?.[1];

describe('a traceparent the kernel wrote into a send', () => {
  it('is spliced in after the request line, and the stream has no gap', () => {
    const t = new ConnectionTracker();
    open(t);
    t.onInject(inject());
    // The kernel positions the record from the stream's end: the header's bytes late.
    t.onData(data(Direction.Egress, REQ, 1000 + HEADER.length));
    t.onData(data(Direction.Ingress, RES, 5000));
    expect(traceparentOf(t)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
    expect(t.stats).toMatchObject({ injected: 1, injectUnmatched: 0, missingBytes: 0 });
    // The next request on the connection follows the bytes the server really got.
    t.onData(data(Direction.Egress, REQ, 1000 + HEADER.length + REQ.length));
    t.onData(data(Direction.Ingress, RES, 5000 + RES.length));
    expect(t.drain().transactions).toHaveLength(1);
    expect(t.stats.missingBytes).toBe(0);
  });

  it('waits for its connection when it comes before the open record', () => {
    const t = new ConnectionTracker();
    t.onInject(inject());
    open(t);
    t.onData(data(Direction.Egress, REQ, 1000 + HEADER.length));
    t.onData(data(Direction.Ingress, RES, 5000));
    expect(traceparentOf(t)).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`);
  });

  it('is dropped, counted, when the next record is another thread\'s or not where the header can go', () => {
    const other = new ConnectionTracker();
    open(other);
    other.onInject(inject());
    other.onData(data(Direction.Egress, REQ, 1000, 8));
    other.onData(data(Direction.Ingress, RES, 5000));
    expect(traceparentOf(other)).toBeUndefined();
    expect(other.stats).toMatchObject({ injected: 0, injectUnmatched: 1 });

    const midLine = new ConnectionTracker();
    open(midLine);
    midLine.onInject(inject(5)); // not after a line's end
    midLine.onData(data(Direction.Egress, REQ, 1000 + HEADER.length));
    expect(midLine.stats).toMatchObject({ injected: 0, injectUnmatched: 1 });
  });

  it('a header of another length than the kernel says is not spliced', () => {
    const t = new ConnectionTracker();
    open(t);
    t.onInject({ ...inject(), length: HEADER.length + 1 });
    expect(t.stats.injectUnmatched).toBe(1);
  });
});

describe('cgroup2Root', () => {
  it('finds the cgroup2 mount, unified or hybrid, with spaces unescaped; null without one', () => {
    expect(cgroup2Root('sysfs /sys sysfs rw 0 0\ncgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n')).toBe('/sys/fs/cgroup');
    expect(cgroup2Root('tmpfs /sys/fs/cgroup tmpfs ro 0 0\ncgroup /sys/fs/cgroup/cpu cgroup rw,cpu 0 0\ncgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n')).toBe('/sys/fs/cgroup/unified');
    expect(cgroup2Root('cgroup2 /mnt/my\\040cgroups cgroup2 rw 0 0\n')).toBe('/mnt/my cgroups');
    expect(cgroup2Root('cgroup /sys/fs/cgroup/cpu cgroup rw 0 0\n')).toBeNull();
  });
});
