/**
 * AsyncTies: what a Node.js thread works for, from its callback scopes and
 * resources as node.bpf.c reports them (scope objects live on the stack:
 * deeper frames have lower addresses). The event orders here are those
 * recorded from node 20 serving through a keep-alive agent
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
/** The top of the thread's stack; frame `depth` is 4 KiB per level below it. */
const STACK = 0x7ffd_1234_0000;
const frame = (depth: number): number => STACK - depth * 0x1000;

function setup(serving: Map<bigint, string>) {
  const ties = new AsyncTies<string>((sock) => {
    const req = serving.get(sock);
    return req === undefined ? undefined : { sock, req };
  });
  const ev = (kind: NodeAsyncKindValue, asyncId: number, scope: number, sp: number) =>
    ties.event({ type: EventType.NodeAsync, ts: 0, pid: PID, tid: TID, kind, asyncId, scope, sp });
  // The thread is known from its first async record (a timer's callback, here).
  ev(NodeAsyncKind.ScopeEnter, 0, frame(1), frame(1) - 0x100);
  return {
    ties,
    /** A callback for resource `id` opens at stack depth `depth`. */
    enter: (id: number, depth = 1) => ev(NodeAsyncKind.ScopeEnter, id, frame(depth), frame(depth) - 0x100),
    /** napi's CallbackScope: the scope object on the heap. */
    enterHeap: (depth: number) => ev(NodeAsyncKind.ScopeEnter, 7, 0x5555_0000_0000, frame(depth) - 0x100),
    resource: (id: number, depth = 1) => ev(NodeAsyncKind.Resource, id, 0, frame(depth) - 0x800),
    read: (sock: bigint) => ties.read(PID, TID, sock),
    /** What a send made at depth `depth` (below that frame's scope) works for. */
    sendAt: (depth: number): Work<string> | undefined => ties.workOf(PID, TID, (frame(depth) - 0x800) % 2 ** 32),
  };
}

describe('AsyncTies', () => {
  it('the callback right after a read works for that connection\'s request, and so do later callbacks of the same resource until the next read', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.enter(9); // a callback before any read works for no one known
    expect(t.sendAt(1)).toBeUndefined();
    t.read(SERVER_A);
    t.enter(13, 3);
    expect(t.sendAt(3)?.req).toBe('GET /a');
    expect(t.sendAt(5)?.req).toBe('GET /a'); // deeper in its JavaScript, or in its nextTicks
    expect(t.sendAt(0)).toBeUndefined(); // above its frame: it has closed
    t.enter(13, 3);
    expect(t.sendAt(3)?.req).toBe('GET /a');
    t.enter(0, 1); // a timer: no resource, no request
    expect(t.sendAt(1)).toBeUndefined();
  });

  it('a resource made while working for a request works for it in its first callback only', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    t.resource(19, 4); // the connect request of an outgoing call
    t.enter(19, 2);
    expect(t.sendAt(2)?.req).toBe('GET /a');
    t.enter(19, 2);
    expect(t.sendAt(2)).toBeUndefined();
  });

  it('a callback inside another works for what its own resource does, and when it returns the outer one\'s work is back', () => {
    const t = setup(new Map([[UPSTREAM, 'GET /a']]));
    t.read(UPSTREAM); // an answer on a client connection: the request its call was made for
    t.enter(51, 2);
    t.enter(54, 6); // a callback inside the socket's read, of a resource not known to work for anyone
    expect(t.sendAt(6)).toBeUndefined();
    expect(t.sendAt(3)?.req).toBe('GET /a'); // back in the read's callback (its 'end' handlers, on nextTick)
  });

  it('a resource\'s callbacks inside a callback working for the same request keep working for it (a response parser\'s)', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a'], [UPSTREAM, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    t.resource(54, 5); // the parser of the call's answer
    t.read(UPSTREAM);
    t.enter(51, 2);
    t.enter(54, 6);
    t.enter(54, 6); // its next callback (the message's end)
    expect(t.sendAt(7)?.req).toBe('GET /a');
    t.enter(0, 1); // a timer
    t.enter(54, 2); // at top level it works for its request once more, as a resource's first callback does...
    expect(t.sendAt(3)?.req).toBe('GET /a');
    t.enter(54, 2); // ...and then no more
    expect(t.sendAt(3)).toBeUndefined();
  });

  it('a scope whose frame is gone never lends its work to a callback opened above it', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 8); // deep: a parser's callback
    t.enter(0, 2); // later, a timer from a shallower frame: 13 has closed
    expect(t.sendAt(3)).toBeUndefined();
    expect(t.sendAt(9)).toBeUndefined();
  });

  it('a scope off the stack (napi) works for no one, and hides the scopes before it', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    t.enterHeap(6); // an addon's callback, later, deeper than 13's old frame
    expect(t.sendAt(7)).toBeUndefined();
  });

  it('a read on another connection starts afresh: nothing carries over from the last callback', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a'], [SERVER_B, 'GET /b']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    t.read(SERVER_B);
    expect(t.sendAt(4)).toBeUndefined();
    t.enter(49, 3);
    expect(t.sendAt(4)?.req).toBe('GET /b');
    t.enter(13, 3); // A's resource, but B was read last and 13 was not its callback
    expect(t.sendAt(4)).toBeUndefined();
  });

  it('a connection serving no single request gives no work, nor do its resources', () => {
    const t = setup(new Map());
    t.read(SERVER_A);
    t.enter(13, 3);
    t.resource(19, 4);
    t.enter(19, 2);
    expect(t.sendAt(2)).toBeUndefined();
  });

  it('ids that are not async ids (another AsyncWrap layout) are counted, and that process\'s resources are not used', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    t.resource(2.5e-300, 4);
    t.resource(19, 4);
    t.enter(19, 2);
    expect(t.sendAt(2)).toBeUndefined();
    expect(t.ties.stats.badIds).toBe(1);
  });

  it('a send whose stack pointer is unknown (an older kernel) ties nothing', () => {
    const t = setup(new Map([[SERVER_A, 'GET /a']]));
    t.read(SERVER_A);
    t.enter(13, 3);
    expect(t.ties.workOf(PID, TID, 0)).toBeUndefined();
  });

  it('threads that sent no async record are not followed', () => {
    const ties = new AsyncTies<string>(() => ({ sock: SERVER_A, req: 'x' }));
    ties.read(PID, TID, SERVER_A);
    expect(ties.follows(PID, TID)).toBe(false);
    expect(ties.workOf(PID, TID, 0x1234)).toBeUndefined();
  });
});
