/**
 * Which server connection each thread serves, so that a call a thread
 * sends while serving a request can be tied to it. Only a thread that has
 * read requests from one connection ever ties anything: once it reads from
 * a second (a pool thread, an event loop) it is shared for good, and its
 * calls stay roots rather than guesses.
 */
export class ThreadTies {
  /** By threadKey(pid, tid). */
  private readonly threads = new Map<number, { readonly sock: bigint; shared: boolean }>();

  constructor(private readonly maxThreads: number) {}

  /** A server connection read a request on this thread. */
  read(pid: number, tid: number, sock: bigint): void {
    const key = threadKey(pid, tid);
    const seen = this.threads.get(key);
    if (seen !== undefined) {
      if (seen.sock !== sock) seen.shared = true;
      return;
    }
    if (this.threads.size >= this.maxThreads) {
      // The oldest thread is forgotten; if it serves again it is taken as new.
      const oldest = this.threads.keys().next().value;
      if (oldest !== undefined) this.threads.delete(oldest);
    }
    this.threads.set(key, { sock, shared: false });
  }

  /** The one server connection this thread has served, if it has served only one. */
  servedBy(pid: number, tid: number): bigint | undefined {
    const seen = this.threads.get(threadKey(pid, tid));
    return seen === undefined || seen.shared ? undefined : seen.sock;
  }
}

/** Pids and tids are below 2^22 (PID_MAX_LIMIT): one exact number for both. */
export const threadKey = (pid: number, tid: number): number => pid * 4194304 + tid;

/** The pid of a threadKey. */
export const pidOfThreadKey = (key: number): number => Math.floor(key / 4194304);
