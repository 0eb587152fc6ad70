/**
 * Which processes are traced, and what is known about each (for service
 * identity). The kernel applies the verdicts (map proc_verdict); this
 * decides them and hands the changes out as plain data.
 *
 * Two modes: with no selector every process is traced except the
 * excluded ones (kernel default: trace); with selectors only matching
 * processes are (kernel default: ignore). New processes are judged on
 * their exec record; a process that starts listening or connecting on a
 * selected port is traced by the kernel itself and confirmed here.
 */
import { basename } from 'node:path';
import { Verdict, type ExecFacts, type VerdictValue } from '../ebpf/abi.js';
import { listPids, netnsOf, processAgeMs, readProcess, socketInodesOf, socketInodesOnPorts, type ProcessFacts } from './procfs.js';
import { portInSet, selectorMatches, type Candidate, type Selector } from './selectors.js';

export interface DiscoveryRules {
  /** Empty: trace everything not excluded. */
  readonly instrument: readonly Selector[];
  readonly exclude: readonly Selector[];
  /** Processes younger than this (ms) wait until they are this old; 0: none wait. */
  readonly minAgeMs?: number;
}

export interface VerdictChange {
  readonly pid: number;
  readonly verdict: VerdictValue;
}

/** How /proc is read; tests substitute a fixed process table. */
export interface ProcSource {
  listPids(): number[];
  readProcess(pid: number): ProcessFacts | null;
  /** pid -> local TCP ports on the selected ports it holds open, for every process. */
  portOwners(selected: (port: number) => boolean): Map<number, Set<number>>;
  /** How long ago a process started (ms); null when gone. */
  ageMs?(pid: number): number | null;
}

export const procfsSource: ProcSource = {
  listPids,
  readProcess,
  ageMs: processAgeMs,
  portOwners(selected) {
    const byInode = new Map<number, number>();
    const seenNs = new Set<string>();
    const pids = listPids();
    for (const pid of pids) {
      const ns = netnsOf(pid);
      if (ns === '' || seenNs.has(ns)) continue;
      seenNs.add(ns);
      for (const [inode, port] of socketInodesOnPorts(pid, selected)) byInode.set(inode, port);
    }
    const owners = new Map<number, Set<number>>();
    if (byInode.size === 0) return owners;
    for (const pid of pids) {
      for (const inode of socketInodesOf(pid)) {
        const port = byInode.get(inode);
        if (port === undefined) continue;
        const set = owners.get(pid) ?? new Set<number>();
        set.add(port);
        owners.set(pid, set);
      }
    }
    return owners;
  },
};

export class ProcessRegistry {
  private readonly verdicts = new Map<number, VerdictValue>();
  private readonly facts = new Map<number, ProcessFacts | null>();
  private changes: VerdictChange[] = [];
  /** Processes judged at least once: the periodic rescan skips them. */
  private readonly judged = new Set<number>();
  /** The instrument selector that chose each traced process (its overrides apply). */
  private readonly selectedBy = new Map<number, number>();
  /** Processes that would be traced but are younger than minAgeMs: when to judge them again, and the ports they were seen on. */
  private readonly young = new Map<number, { due: number; ports: ReadonlySet<number> | undefined }>();

  constructor(
    private readonly rules: DiscoveryRules,
    private readonly selfPid: number,
    private readonly source: ProcSource = procfsSource,
  ) {}

  /** With no selector, the kernel traces by default. */
  get traceAll(): boolean {
    return this.rules.instrument.length === 0;
  }

  /** Ports whose listeners and connectors the kernel should trace at once. */
  selectedPorts(): ReadonlyArray<readonly [number, number]> {
    return this.rules.instrument.flatMap((s) => s.openPorts ?? []);
  }

  /** Judge every running process; returns the verdicts to preload into the kernel. */
  seed(): VerdictChange[] {
    const portSets = this.selectedPorts();
    const owners = portSets.length > 0 ? this.source.portOwners((p) => portInSet(portSets, p)) : new Map<number, Set<number>>();
    for (const pid of this.source.listPids()) this.judge(pid, owners.get(pid));
    return this.takeChanges();
  }

  /**
   * Pick up processes whose exec record was lost, and forget those gone
   * (the kernel reports exits of traced processes only).
   */
  rescan(): void {
    const alive = new Set(this.source.listPids());
    for (const pid of alive) if (!this.judged.has(pid)) this.judge(pid, undefined);
    for (const pid of this.judged) if (!alive.has(pid)) this.onExit(pid);
  }

  /**
   * A new image: judge it again. `kernelVerdict` is what the kernel set on
   * exec (pending, under selectors); `comm` and `exec` (what the kernel saw
   * at exec) stand in for what /proc no longer says of a process already
   * gone, or a zombie.
   */
  onExec(pid: number, comm: string, kernelVerdict: VerdictValue, exec?: ExecFacts): void {
    this.selectedBy.delete(pid);
    this.verdicts.set(pid, kernelVerdict);
    this.facts.set(pid, withExecFacts(pid, this.source.readProcess(pid), comm, exec));
    this.judge(pid, undefined);
  }

  /** The kernel traced `pid` because it listened or connected on `port`. */
  onPort(pid: number, port: number): void {
    this.verdicts.set(pid, Verdict.Trace);
    this.judge(pid, new Set([port]));
  }

  onExit(pid: number): void {
    this.young.delete(pid);
    this.selectedBy.delete(pid);
    this.verdicts.delete(pid);
    this.facts.delete(pid);
    this.judged.delete(pid);
  }

  /**
   * Should records of `pid` be used? Processes never judged are trusted to
   * the kernel (children inherit their parent's verdict there), except in
   * trace-all mode, where they are checked against the excludes now.
   */
  isTraced(pid: number): boolean {
    const v = this.verdicts.get(pid);
    if (v !== undefined) return v === Verdict.Trace;
    if (this.traceAll && !this.judged.has(pid)) return this.judge(pid, undefined) === Verdict.Trace;
    return true;
  }

  /** Judge again the processes that have come of age (discovery.min_process_age) by `now` (ms since the epoch). */
  matureDue(now: number): void {
    for (const [pid, y] of this.young) {
      if (y.due > now) continue;
      this.young.delete(pid);
      this.judge(pid, y.ports);
    }
  }

  /** Which instrument selector (its index) chose a traced process; undefined when none did (trace-all mode). */
  selectorOf(pid: number): number | undefined {
    return this.selectedBy.get(pid);
  }

  /** Facts about a process, read once and kept until it exits or execs. */
  factsOf(pid: number): ProcessFacts | null {
    if (!this.facts.has(pid)) this.facts.set(pid, this.source.readProcess(pid));
    return this.facts.get(pid) ?? null;
  }

  takeChanges(): VerdictChange[] {
    const c = this.changes;
    this.changes = [];
    return c;
  }

  /** Younger than minAgeMs: remembered, to be judged again when of age. */
  private tooYoung(pid: number, ports: ReadonlySet<number> | undefined): boolean {
    const min = this.rules.minAgeMs ?? 0;
    if (min <= 0) return false;
    const age = this.source.ageMs?.(pid) ?? null;
    if (age === null || age >= min) return false;
    const known = this.young.get(pid)?.ports;
    const merged = known && ports ? new Set([...known, ...ports]) : (ports ?? known);
    this.young.set(pid, { due: Date.now() + (min - age), ports: merged });
    return true;
  }

  private judge(pid: number, ports: ReadonlySet<number> | undefined): VerdictValue {
    this.judged.add(pid);
    let verdict: VerdictValue;
    if (pid === this.selfPid) verdict = Verdict.Ignore;
    else {
      const facts = this.factsOf(pid);
      const candidate: Candidate = { pid, exePath: facts?.exePath ?? '', commandLine: facts?.commandLine ?? '', inContainer: !!facts?.container, ports };
      const excluded = this.rules.exclude.some((s) => selectorMatches(s, candidate));
      const index = this.traceAll ? -1 : this.rules.instrument.findIndex((s) => selectorMatches(s, candidate));
      verdict = (this.traceAll || index >= 0) && !excluded ? Verdict.Trace : Verdict.Ignore;
      if (verdict === Verdict.Trace && this.tooYoung(pid, ports)) verdict = Verdict.Ignore;
      // A process keeps the first selector that chose it (a later port may match none by itself).
      if (verdict === Verdict.Trace && index >= 0 && !this.selectedBy.has(pid)) this.selectedBy.set(pid, index);
    }
    const previous = this.verdicts.get(pid);
    this.verdicts.set(pid, verdict);
    if (previous !== verdict) this.changes.push({ pid, verdict });
    return verdict;
  }
}

/**
 * /proc's facts where it still has them, else the exec record's. For a
 * script the exec'd file is the script itself, where /proc/PID/exe would
 * name its interpreter: a selector then matches the script's path.
 */
export function withExecFacts(pid: number, proc: ProcessFacts | null, comm: string, exec: ExecFacts | undefined): ProcessFacts {
  const execPath = exec?.filename.startsWith('/') ? exec.filename : '';
  const exePath = proc?.exePath || execPath;
  return {
    pid,
    exePath,
    exeName: proc?.exePath ? proc.exeName : basename(exec?.filename ?? '') || comm,
    commandLine: proc?.commandLine || (exec?.filename ?? ''),
    otelServiceName: proc?.otelServiceName ?? exec?.otelServiceName,
    otelResourceAttributes: proc?.otelResourceAttributes ?? exec?.otelResourceAttributes,
    ...(proc?.container !== undefined ? { container: proc.container } : {}),
  };
}
