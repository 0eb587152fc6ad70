/**
 * TLS sessions as the connection layer sees them: which sessions each
 * process has (so the kernel's entries go when it exits), and plaintext
 * written before its socket is known (Node.js writes before it sends),
 * held until the kernel ties the session to it. Bounded; every record
 * dropped is counted in `dropped`.
 */
import type { DataEvent } from '../ebpf/abi.js';

interface Waiting {
  readonly since: number;
  readonly records: DataEvent[];
}

export interface TlsSessionLimits {
  /** Sessions whose plaintext may wait, and sessions remembered per process. */
  readonly maxSessions: number;
  /** Records kept per waiting session. */
  readonly maxRecords: number;
  /** How long plaintext waits for its socket (kernel ns). */
  readonly maxWaitNs: number;
}

export class TlsSessions {
  /** By `${pid}:${session}`. */
  private readonly waiting = new Map<string, Waiting>();
  private readonly sessionsOf = new Map<number, Set<bigint>>();
  /** Plaintext records dropped because their socket never became known. */
  dropped = 0;

  constructor(private readonly limits: TlsSessionLimits) {}

  /** A record or bind of this process's session: remembered for forget(). */
  note(pid: number, ssl: bigint): void {
    let set = this.sessionsOf.get(pid);
    if (!set) this.sessionsOf.set(pid, (set = new Set()));
    // Pointers are reused as sessions come and go: the set stays small.
    if (set.size < this.limits.maxSessions) set.add(ssl);
  }

  /** Plaintext whose socket is not known yet. */
  hold(ev: DataEvent): void {
    const key = `${ev.pid}:${ev.tls}`;
    let waiting = this.waiting.get(key);
    if (!waiting) {
      if (this.waiting.size >= this.limits.maxSessions) {
        this.dropped++;
        return;
      }
      this.waiting.set(key, (waiting = { since: ev.tsEnd, records: [] }));
    }
    if (waiting.records.length >= this.limits.maxRecords) {
      this.dropped++;
      return;
    }
    waiting.records.push(ev);
  }

  /** The session is tied to its socket: what waited for it, in order. */
  release(pid: number, ssl: bigint): DataEvent[] {
    const key = `${pid}:${ssl}`;
    const waiting = this.waiting.get(key);
    if (!waiting) return [];
    this.waiting.delete(key);
    return waiting.records;
  }

  /** A process exited: its sessions, for the kernel to drop too. */
  forget(pid: number): bigint[] {
    const sessions = this.sessionsOf.get(pid);
    this.sessionsOf.delete(pid);
    if (!sessions) return [];
    for (const ssl of sessions) this.drop(`${pid}:${ssl}`);
    return [...sessions];
  }

  /** Plaintext that waited too long for its socket is dropped; `now` is kernel ns. */
  sweep(now: number): void {
    for (const [key, waiting] of this.waiting) {
      if (now - waiting.since > this.limits.maxWaitNs) this.drop(key);
    }
  }

  private drop(key: string): void {
    const waiting = this.waiting.get(key);
    if (!waiting) return;
    this.dropped += waiting.records.length;
    this.waiting.delete(key);
  }
}
