/**
 * Ties for event-loop proxies (nginx, Envoy, HAProxy, a Node.js gateway),
 * whose threads serve many connections so ThreadTies cannot help: a
 * request a process sends is a child of the request it is serving when
 * exactly one request that process has read and not yet answered has the
 * same method and target, begun before it (a proxy forwards the path it
 * was asked for). Two or more such requests in flight are ambiguous: the
 * call stays a root, never a guess.
 */
import type { RequestStart } from '../../protocols/types.js';

/** A request unanswered this long is forgotten (its answer was lost). */
const STALE_NS = 60e9;
/** In-flight requests kept per process; past it the oldest go. */
const MAX_PER_PROCESS = 4096;

export class ProxyTies {
  /** By pid: server requests read and not yet answered, by "METHOD target". */
  private readonly inFlight = new Map<number, Map<string, RequestStart[]>>();

  /** A traced process read a request. */
  started(pid: number, req: RequestStart): void {
    let byKey = this.inFlight.get(pid);
    if (!byKey) this.inFlight.set(pid, (byKey = new Map()));
    if (byKey.size >= MAX_PER_PROCESS) byKey.delete(byKey.keys().next().value!);
    const key = keyOf(req);
    const list = byKey.get(key);
    if (list) list.push(req);
    else byKey.set(key, [req]);
  }

  /** Its response was written (or the connection is gone). */
  finished(pid: number, req: RequestStart): void {
    const byKey = this.inFlight.get(pid);
    const key = keyOf(req);
    const list = byKey?.get(key);
    if (!list) return;
    const i = list.indexOf(req);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) byKey!.delete(key);
    if (byKey!.size === 0) this.inFlight.delete(pid);
  }

  /** The one request `pid` is serving that a request it sends forwards, if exactly one fits. */
  servedBy(pid: number, sent: RequestStart): RequestStart | undefined {
    const list = this.inFlight.get(pid)?.get(keyOf(sent));
    if (!list) return undefined;
    let found: RequestStart | undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i]!;
      if (sent.requestStart - r.requestStart > STALE_NS) {
        list.splice(i, 1);
        continue;
      }
      if (r.requestStart > sent.requestStart) continue;
      if (found) return undefined; // two candidates: ambiguous
      found = r;
    }
    return found;
  }

  forgetProcess(pid: number): void {
    this.inFlight.delete(pid);
  }
}

const keyOf = (r: RequestStart): string => `${r.method} ${r.target}`;
