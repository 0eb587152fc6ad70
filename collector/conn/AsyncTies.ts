/**
 * Which request a Node.js thread is working for, from the runtime's own
 * async machinery (bpf/node.bpf.c), so a call it sends while serving a
 * request is tied to that request, however many connections its event
 * loop serves.
 *
 * Everything JavaScript does runs inside a callback from native code (an
 * InternalCallbackScope: a socket's data, a connect, a DNS answer, a
 * timer), and Node.js names each by its async resource. The scope is an
 * object in the frame that opened it: it is open while the thread runs
 * below that address (its nextTicks and microtasks run in its Close(),
 * still below), and scopes nest as frames do. What a scope works for:
 *
 *  - the first callback after the thread read bytes from a connection is
 *    that read's (libuv calls it straight after the read), and so are later
 *    callbacks of the same resource until the next read: it works for the
 *    request the connection is serving (a server connection: its one
 *    unanswered request; a client connection: the request its latest call
 *    was made for);
 *  - the first callback of a resource made while working for a request
 *    (the connect request, DNS lookup and parser an outgoing call makes; a
 *    kept-alive socket is given a new id when it is reused) works for that
 *    request, and so do later ones that run inside a callback working for
 *    it (the parser's, inside its socket's read); others do not (a pooled
 *    socket whose reads Sonde does not see, a database's, may be serving
 *    another request by then);
 *  - any other callback (timers and immediates name no resource) works for
 *    no known request, and its calls stay roots.
 *
 * A call is tied only if the request it is tied to is still unanswered
 * then: a request answered, or a connection that moved on to its next
 * request, ties nothing rather than something wrong.
 */
import { NodeAsyncKind, type NodeAsyncEvent } from '../ebpf/abi.js';
import { pidOfThreadKey, threadKey } from './ThreadTies.js';

/** The request a thread works for, named by its connection so it can be checked when a call is sent. */
export interface Work<R> {
  readonly sock: bigint;
  readonly req: R;
}

interface Scope<R> {
  /** Low 32 bits of the InternalCallbackScope's address. */
  readonly at: number;
  readonly work: Work<R> | null;
}

interface ThreadState<R> {
  /** The connection read last, until a callback begins. */
  readSock: bigint | null;
  /** The resource whose callback followed the last read, and what it works for. */
  windowId: number;
  windowWork: Work<R> | null;
  /** Callbacks that may still be open, innermost last. */
  readonly scopes: Scope<R>[];
  /** Resources made while working for a request, oldest first. */
  readonly owners: Map<number, Work<R>>;
}

/** Resources remembered per thread (an outgoing call makes three or four). */
const MAX_OWNERS = 8192;
/** Callbacks open at once on one thread; deeper, what it works for is forgotten. */
const MAX_DEPTH = 64;
/**
 * A scope object is in the frame that calls its constructor, just above
 * the stack pointer there. One farther away is not on the stack (napi's
 * CallbackScope allocates it), and its life cannot be told.
 */
const MAX_FRAME_BYTES = 64 * 1024;
/** Threads remembered; past it, the oldest is forgotten. */
const MAX_THREADS = 4096;

export interface AsyncTieStats {
  /** Async records of Node.js threads. */
  events: number;
  /** Ids that were not whole positive numbers (an unknown Node.js build): the process's resources are not used. */
  badIds: number;
}

export class AsyncTies<R> {
  private readonly threads = new Map<number, ThreadState<R>>();
  /** Processes whose AsyncWrap layout is not the one node.bpf.c reads. */
  private readonly badLayout = new Set<number>();
  readonly stats: AsyncTieStats = { events: 0, badIds: 0 };

  /**
   * @param workOfRead what the connection `sock` is serving, as the tracker
   *   knows it once it has parsed the bytes just read.
   */
  constructor(private readonly workOfRead: (sock: bigint) => Work<R> | undefined) {}

  /** The thread read bytes from a connection (only Node.js threads are followed): it is in libuv, outside any callback. */
  read(pid: number, tid: number, sock: bigint): void {
    const t = this.threads.get(threadKey(pid, tid));
    if (t === undefined) return;
    t.readSock = sock;
    t.scopes.length = 0;
    t.windowId = 0;
    t.windowWork = null;
  }

  event(ev: NodeAsyncEvent): void {
    this.stats.events++;
    const t = this.thread(ev.pid, ev.tid);
    const sp = low32(ev.sp);
    if (ev.kind === NodeAsyncKind.ScopeEnter) {
      const scope = low32(ev.scope);
      const above = distance(sp, scope);
      // A scope not on the stack (napi's CallbackScope allocates it) still opens JS for no known request:
      // it counts as one just above the frame that made it, so no older scope shows through.
      const at = above > 0 && above <= MAX_FRAME_BYTES ? scope : low32(ev.sp + MAX_FRAME_BYTES);
      const onStack = at === scope;
      // Scopes at or below the new one have closed: their frames are gone.
      while (t.scopes.length > 0 && distance(at, t.scopes[t.scopes.length - 1]!.at) <= 0) t.scopes.pop();
      if (t.scopes.length >= MAX_DEPTH) t.scopes.length = 0;
      t.scopes.push({ at, work: onStack ? this.entered(t, ev.asyncId) : null });
      return;
    }
    const id = ev.asyncId;
    if (!(id > 0 && Number.isSafeInteger(id))) {
      // Not an async id: this node lays out AsyncWrap otherwise; its resources cannot be trusted.
      this.stats.badIds++;
      this.badLayout.add(ev.pid);
      return;
    }
    const work = current(t, sp);
    if (work === null || this.badLayout.has(ev.pid)) return;
    if (t.owners.size >= MAX_OWNERS) t.owners.delete(t.owners.keys().next().value!);
    t.owners.set(id, work);
  }

  /** What a callback for resource `id` that begins now works for. */
  private entered(t: ThreadState<R>, id: number): Work<R> | null {
    const afterRead = t.readSock;
    t.readSock = null;
    if (id <= 0) return null; // timers and immediates name no resource
    if (afterRead !== null) {
      t.windowId = id;
      t.windowWork = this.workOfRead(afterRead) ?? null;
      return t.windowWork;
    }
    if (id === t.windowId) return t.windowWork;
    const owned = t.owners.get(id);
    if (owned !== undefined) {
      // Once, unless it runs inside a callback working for the same request (a call's response
      // parser, inside its socket's read): a socket's later callbacks may be for whoever uses it next.
      if (t.scopes[t.scopes.length - 1]?.work?.req !== owned.req) t.owners.delete(id);
      return owned;
    }
    // Not inherited from a scope around it: that one may have closed unseen (scopes are seen opening only).
    return null;
  }

  /** Is this a Node.js thread whose async context is followed? */
  follows(pid: number, tid: number): boolean {
    return this.threads.has(threadKey(pid, tid));
  }

  /** What the thread works for in a call made with stack pointer `sp` (low 32 bits; 0: unknown), if anything. */
  workOf(pid: number, tid: number, sp: number): Work<R> | undefined {
    const t = this.threads.get(threadKey(pid, tid));
    return t === undefined || sp === 0 ? undefined : (current(t, sp) ?? undefined);
  }

  forgetProcess(pid: number): void {
    this.badLayout.delete(pid);
    for (const key of this.threads.keys()) if (pidOfThreadKey(key) === pid) this.threads.delete(key);
  }

  private thread(pid: number, tid: number): ThreadState<R> {
    const key = threadKey(pid, tid);
    let t = this.threads.get(key);
    if (t === undefined) {
      if (this.threads.size >= MAX_THREADS) this.threads.delete(this.threads.keys().next().value!);
      t = { readSock: null, windowId: 0, windowWork: null, scopes: [], owners: new Map() };
      this.threads.set(key, t);
    }
    return t;
  }
}

/** The work of the innermost scope still open for code running at `sp`: those below it have closed. */
function current<R>(t: ThreadState<R>, sp: number): Work<R> | null {
  while (t.scopes.length > 0 && distance(sp, t.scopes[t.scopes.length - 1]!.at) <= 0) t.scopes.pop();
  return t.scopes[t.scopes.length - 1]?.work ?? null;
}

const low32 = (addr: number): number => addr % 4294967296;
/** How far `to` is above `from`, as a signed 32-bit distance: a thread's stack spans far less than 4 GiB. */
const distance = (from: number, to: number): number => (to - from) | 0;

