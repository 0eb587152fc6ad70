/**
 * Which request a Node.js thread is working for, from the runtime's own
 * async machinery (bpf/node.bpf.c), so a call it sends while serving a
 * request is tied to that request, however many connections its event
 * loop serves.
 *
 * Everything JavaScript does runs inside a callback from native code (an
 * InternalCallbackScope: a socket's data, a connect, a DNS answer, a
 * timer), and Node.js names each by its async resource. A thread's work is
 * set when such a callback begins and lasts until it is closed, its
 * nextTicks and microtasks run (scopes nest: closing one goes back to the
 * one around it):
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
 *    request; later ones do not (a pooled socket whose reads Sonde does
 *    not see, a database's, may be serving another request by then);
 *  - a callback run inside a running one (a parser's, inside its socket's
 *    read) keeps the running one's work;
 *  - any other callback (timers and immediates name no resource) works for
 *    no known request, and its calls stay roots.
 *
 * A call is tied only if the request it is tied to is still unanswered
 * then: a request answered, or a connection that moved on to its next
 * request, ties nothing rather than something wrong.
 */
import { NodeAsyncKind, type NodeAsyncEvent } from '../ebpf/abi.js';

/** The request a thread works for, named by its connection so it can be checked when a call is sent. */
export interface Work<R> {
  readonly sock: bigint;
  readonly req: R;
}

interface Scope<R> {
  /** The InternalCallbackScope's address. */
  readonly self: number;
  readonly work: Work<R> | null;
}

interface ThreadState<R> {
  /** The connection read last, until a callback begins. */
  readSock: bigint | null;
  /** The resource whose callback followed the last read, and what it works for. */
  windowId: number;
  windowWork: Work<R> | null;
  /** Callbacks open, innermost last. */
  readonly scopes: Scope<R>[];
  /** Close() calls running, innermost last: did each close an open scope (a second Close() does nothing)? */
  readonly closing: boolean[];
  /** Resources made while working for a request, oldest first. */
  readonly owners: Map<number, Work<R>>;
}

/** Resources remembered per thread (an outgoing call makes three or four). */
const MAX_OWNERS = 8192;
/** Callbacks open at once on one thread; deeper, what it works for is forgotten. */
const MAX_DEPTH = 64;
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
    t.closing.length = 0;
    t.windowId = 0;
    t.windowWork = null;
  }

  event(ev: NodeAsyncEvent): void {
    this.stats.events++;
    const t = this.thread(ev.pid, ev.tid);
    switch (ev.kind) {
      case NodeAsyncKind.ScopeEnter:
        if (t.scopes.length >= MAX_DEPTH) t.scopes.length = 0;
        t.scopes.push({ self: ev.scope, work: this.entered(t, ev.asyncId) });
        break;
      case NodeAsyncKind.ScopeClose: {
        let i = t.scopes.length - 1;
        while (i >= 0 && t.scopes[i]!.self !== ev.scope) i--;
        // Scopes opened inside it and not seen closing are gone with it.
        if (i >= 0) t.scopes.length = i + 1;
        t.closing.push(i >= 0);
        break;
      }
      case NodeAsyncKind.ScopeClosed:
        // Its nextTicks and microtasks have run, still working for it: now it is done.
        if (t.closing.pop() === true) t.scopes.pop();
        break;
      case NodeAsyncKind.Resource: {
        const id = ev.asyncId;
        if (!(id > 0 && Number.isSafeInteger(id))) {
          // Not an async id: this node lays out AsyncWrap otherwise; its resources cannot be trusted.
          this.stats.badIds++;
          this.badLayout.add(ev.pid);
          break;
        }
        const work = current(t);
        if (work === null || this.badLayout.has(ev.pid)) break;
        if (t.owners.size >= MAX_OWNERS) t.owners.delete(t.owners.keys().next().value!);
        t.owners.set(id, work);
        break;
      }
    }
  }

  /** What a callback for resource `id` that begins now works for. */
  private entered(t: ThreadState<R>, id: number): Work<R> | null {
    const afterRead = t.readSock;
    t.readSock = null;
    if (id <= 0) return current(t); // timers and immediates name no resource
    if (afterRead !== null) {
      t.windowId = id;
      t.windowWork = this.workOfRead(afterRead) ?? null;
      return t.windowWork;
    }
    if (id === t.windowId) return t.windowWork;
    const owned = t.owners.get(id);
    if (owned !== undefined) {
      // Once: a socket's later callbacks may be for whoever uses it next.
      t.owners.delete(id);
      return owned;
    }
    // A callback run inside a running one (a parser's, inside its socket's read) keeps its work.
    return current(t);
  }

  /** Is this a Node.js thread whose async context is followed? */
  follows(pid: number, tid: number): boolean {
    return this.threads.has(threadKey(pid, tid));
  }

  /** What the thread's running callback works for, if anything. */
  workOf(pid: number, tid: number): Work<R> | undefined {
    const t = this.threads.get(threadKey(pid, tid));
    return (t && current(t)) ?? undefined;
  }

  forgetProcess(pid: number): void {
    this.badLayout.delete(pid);
    for (const key of this.threads.keys()) if (Math.floor(key / 4194304) === pid) this.threads.delete(key);
  }

  private thread(pid: number, tid: number): ThreadState<R> {
    const key = threadKey(pid, tid);
    let t = this.threads.get(key);
    if (t === undefined) {
      if (this.threads.size >= MAX_THREADS) this.threads.delete(this.threads.keys().next().value!);
      t = { readSock: null, windowId: 0, windowWork: null, scopes: [], closing: [], owners: new Map() };
      this.threads.set(key, t);
    }
    return t;
  }
}

const current = <R>(t: ThreadState<R>): Work<R> | null => t.scopes[t.scopes.length - 1]?.work ?? null;

/** Pids and tids are below 2^22 (PID_MAX_LIMIT): one exact number for both. */
const threadKey = (pid: number, tid: number): number => pid * 4194304 + tid;
