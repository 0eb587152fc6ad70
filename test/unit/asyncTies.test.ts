/**
 * AsyncTies: what a Node.js thread works for, from its callback scopes and
 * resources, as node.bpf.c reports them. The event orders here are the
 * ones recorded from node 20 serving through a keep-alive agent
 * (test/integration/nodeAsync.test.ts runs the real thing).
 */
import { describe, expect, it } from 'vitest';
import { AsyncTies, type Work } from '../../collector/conn/AsyncTies.js';
import { EventType, NodeAsyncKind, type NodeAsyncKindValue } from '../../collector/ebpf/abi.js';

const PID = 100;
const TID = 100;
const SERVER_A = 1n;
const SERVER_B = 2n;
const UPSTREAM = 3n;

/** Requests by connection, as the tracker would answer for a read. */
function setup(serving: Map<bigint, string>) {
  const ties = new AsyncTies<string>((sock) => {
    const req = serving.get(sock);
    return req === undefined ? undefined : { sock, req };
  });
  const ev = (kind: NodeAsyncKindValue, asyncId = 0, scope = 0) =>
    ties.event({ type: EventType.NodeAsync, ts: 0, pid: PID, tid: TID, kind, asyncId, scope });
  let nextScope = 0x7ff000;
  const open: number[] = [];
  // The thread is known from its first async record (a timer's callback, here).
  ev(NodeAsyncKind.ScopeEnter, 0, 0x7fe000);
  ev(NodeAsyncKind.ScopeClose, 0, 0x7fe000);
  ev(NodeAsyncKind.ScopeClosed);
  return {
    ties,
    enter: (id: number) => {
      open.push((nextScope += 0x100));
      ev(NodeAsyncKind.ScopeEnter, id, open.at(-1));
    },
    /** Close() of the innermost scope, twice as InternalMakeCallback does when `twice`. */
    close: (twice = false) => {
      const scope = open.pop()!;
      ev(NodeAsyncKind.ScopeClose, 0, scope);
      ev(NodeAsyncKind.ScopeClosed);
      if (twice) {
        ev(NodeAsyncKind.ScopeClose, 0, scope);
        ev(NodeAsyncKind.ScopeClosed);
      }
    },
    /** Close() begun: what runs now is its nextTicks and microtasks. */
    closing: () => ev(NodeAsyncKind.ScopeClose, 0, open.at(-1)),
    closed: () => {
      open.pop();
      ev(NodeAsyncKind.ScopeClosed);
    },
    resource: (id: number) => ev(NodeAsyncKind.Resource, id),
    read: (sock: bigint) => ties.read(PID, TID, sock),
    work: (): Work<string> | undefined => ties.workOf(PID, TID),
  };
}

describe('AsyncTies', () => {
  it('the callback right after a read works for that connection\'s request, and so do later callbacks of the same resource until the next read', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.enter(9); // a callback before any read works for no one known
    expect(t.work()).toBeUndefined();
    t.close();
    t.read(SERVER_A);
    t.enter(13);
    expect(t.work()?.req).toBe('GET /a');
    t.close(true);
    expect(t.work()).toBeUndefined();
    t.enter(13);
    expect(t.work()?.req).toBe('GET /a');
    t.close();
    t.enter(0); // a timer: no resource, no request
    expect(t.work()).toBeUndefined();
  });

  it('a resource made while working for a request works for it in its first callback only', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13);
    t.resource(19); // the connect request of an outgoing call
    t.close();
    t.enter(19);
    expect(t.work()?.req).toBe('GET /a');
    t.close();
    t.enter(19);
    expect(t.work()).toBeUndefined();
  });

  it('nextTicks run while Close() runs still work for the scope; a nested scope\'s close goes back to the one around it', () => {
    const serving = new Map([[UPSTREAM, 'GET /a']]);
    const t = setup(serving);
    t.read(UPSTREAM); // an answer on a client connection: the request its call was made for
    t.enter(51);
    t.enter(54); // the response parser's callback, inside the socket's read
    expect(t.work()?.req).toBe('GET /a');
    t.close();
    expect(t.work()?.req).toBe('GET /a');
    t.closing();
    expect(t.work()?.req).toBe('GET /a'); // its nextTicks ('end' handlers)
    t.closed();
    expect(t.work()).toBeUndefined();
  });

  it('a second Close() of a closed scope closes nothing around it', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13);
    t.enter(20);
    t.close(true); // closed twice: the outer scope stays open
    expect(t.work()?.req).toBe('GET /a');
  });

  it('a read on another connection starts afresh: nothing carries over from the last callback', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a'], [SERVER_B, 'GET /b']]));
    t.read(SERVER_A);
    t.enter(13);
    t.read(SERVER_B); // libuv again (a scope not seen closing: probes attached mid-call)
    expect(t.work()).toBeUndefined();
    t.enter(49);
    expect(t.work()?.req).toBe('GET /b');
    t.close();
    t.enter(13); // A's resource, but B was read last and 13 was not its callback
    expect(t.work()).toBeUndefined();
  });

  it('a connection serving no single request gives no work', () => {
    const t = setup(new Map());
    t.read(SERVER_A);
    t.enter(13);
    t.resource(19);
    t.close();
    t.enter(19);
    expect(t.work()).toBeUndefined();
  });

  it('ids that are not async ids (another AsyncWrap layout) are counted, and that process\'s resources are not used', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13);
    t.resource(2.5e-300);
    t.resource(19);
    t.close();
    t.enter(19);
    expect(t.work()).toBeUndefined();
    expect(t.ties.stats.badIds).toBe(1);
  });

  it('threads that sent no async record are not followed', () => {
    const ties = new AsyncTies<string>(() => ({ sock: SERVER_A, req: 'x' }));
    ties.read(PID, TID, SERVER_A);
    expect(ties.follows(PID, TID)).toBe(false);
    expect(ties.workOf(PID, TID)).toBeUndefined();
  });
});
