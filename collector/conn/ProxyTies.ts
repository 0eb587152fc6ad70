/**
 * Ties for event-loop proxies (nginx, Envoy, HAProxy, a Node.js gateway),
 * whose threads serve many connections so ThreadTies cannot help: a
 * request a process sends is a child of the request it is serving when
 * exactly one request that process has read and not yet answered has the
 * same method and target, begun before it (a proxy forwards the path it
 * was asked for). Two or more such requests in flight are ambiguous: the
 * call stays a root, never a guess.
 *
 * Every server request passes through here, so the tables are made to
 * stay put: lists are keyed by the target string the parser already made
 * (no "METHOD target" string per lookup), a list that empties stays in
 * its table for the next request to the same target, and a process's
 * table stays until the process exits. A Map that grows and empties once
 * per request reallocates its storage each time, and that was a tenth of
 * the bytes allocated per traced request.
 */
import type { RequestStart } from '../../protocols/types.js';

/** A request unanswered this long is forgotten (its answer was lost). */
const STALE_NS = 60e9;
/** Targets kept per process; past it the empty lists go, then the oldest target. */
const MAX_PER_PROCESS = 4096;
/** Processes kept; past it those with nothing in flight go, then the oldest. */
const MAX_PROCESSES = 4096;

/** One process's server requests read and not yet answered, by target (any method). */
interface ProcessTable {
  readonly byTarget: Map<string, RequestStart[]>;
  /** Lists in byTarget that are empty (kept for reuse). */
  empty: number;
}

export class ProxyTies {
  private readonly inFlight = new Map<number, ProcessTable>();

  /** A traced process read a request. */
  started(pid: number, req: RequestStart): void {
    const table = this.inFlight.get(pid) ?? this.addProcess(pid);
    const list = table.byTarget.get(req.target);
    if (list !== undefined) {
      if (list.length === 0) table.empty--;
      list.push(req);
      return;
    }
    if (table.byTarget.size >= MAX_PER_PROCESS) makeRoom(table);
    table.byTarget.set(req.target, [req]);
  }

  /** Its response was written (or the connection is gone). */
  finished(pid: number, req: RequestStart): void {
    const table = this.inFlight.get(pid);
    const list = table?.byTarget.get(req.target);
    if (list === undefined) return;
    const i = list.indexOf(req);
    if (i < 0) return;
    removeAt(list, i);
    if (list.length === 0) table!.empty++;
  }

  /** The one request `pid` is serving that a request it sends forwards, if exactly one fits. */
  servedBy(pid: number, sent: RequestStart): RequestStart | undefined {
    const table = this.inFlight.get(pid);
    const list = table?.byTarget.get(sent.target);
    if (list === undefined || list.length === 0) return undefined;
    let found: RequestStart | undefined;
    let ambiguous = false;
    for (let i = list.length - 1; i >= 0; i--) {
      const r = list[i]!;
      if (sent.requestStart - r.requestStart > STALE_NS) {
        removeAt(list, i);
        continue;
      }
      if (ambiguous || r.method !== sent.method || r.requestStart > sent.requestStart) continue;
      if (found) ambiguous = true; // two candidates; the loop goes on only to drop stale ones
      else found = r;
    }
    if (list.length === 0) table!.empty++;
    return ambiguous ? undefined : found;
  }

  forgetProcess(pid: number): void {
    this.inFlight.delete(pid);
  }

  private addProcess(pid: number): ProcessTable {
    if (this.inFlight.size >= MAX_PROCESSES) {
      for (const [p, t] of this.inFlight) if (t.empty === t.byTarget.size) this.inFlight.delete(p);
      if (this.inFlight.size >= MAX_PROCESSES) this.inFlight.delete(this.inFlight.keys().next().value!);
    }
    const table: ProcessTable = { byTarget: new Map(), empty: 0 };
    this.inFlight.set(pid, table);
    return table;
  }
}

/** Frees a place in a full table: its empty lists when there are some, else its oldest target. */
function makeRoom(table: ProcessTable): void {
  if (table.empty > 0) {
    for (const [target, list] of table.byTarget) if (list.length === 0) table.byTarget.delete(target);
    table.empty = 0;
    return;
  }
  table.byTarget.delete(table.byTarget.keys().next().value!);
}

/** Removes list[i], keeping the order, without splice's array of what it removed. */
function removeAt<T>(list: T[], i: number): void {
  for (let k = i + 1; k < list.length; k++) list[k - 1] = list[k]!;
  list.length--;
}
