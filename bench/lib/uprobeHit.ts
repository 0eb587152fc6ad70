/**
 * What one probed TLS-library call costs the application: the C loop in
 * bench/peers/uprobe-hit (SSL_free(NULL): one uprobe; SSL_read on an empty
 * memory BIO: a uprobe and a uretprobe) timed without Sonde, with Sonde
 * selecting the process, and with Sonde running but not selecting it (the
 * probes are per library file, so that process still takes the trap, and
 * the BPF program stops at the process filter).
 *
 * The process exists before Sonde starts, and waits for a line on stdin:
 * Sonde judges it at start, before it captures anything, so no call is
 * timed while its verdict is pending. Each run checks the verdict in the
 * kernel's map and that the uprobe area got mapped into the process.
 *
 * The loops run with kernel.bpf_stats_enabled off, as on a user's machine
 * (with it on, every BPF program run also reads the clock twice). One more
 * short run per Sonde condition, with it on, gives the BPF programs' own
 * time per call, which is the part of the hit that Sonde's code decides;
 * the rest is the kernel's breakpoint trap and return trampoline.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { freePort } from '../../test/helpers/ports.js';
import { spawnTied } from '../../test/helpers/tied.js';
import type { UprobeHitCondition, UprobeHitResult } from './report.js';
import { BenchSonde } from './sondeRun.js';

export interface UprobeHitOptions {
  /** The built bench/peers/uprobe-hit binary. */
  readonly binary: string;
  readonly iterations: number;
  /** Rounds of each loop within one run (the run's figure is their median). */
  readonly rounds: number;
  /** Runs of each condition, interleaved. */
  readonly repetitions: number;
  readonly sinkPort: number;
  readonly log: (msg: string) => void;
}

interface LoopRun {
  iterations: number;
  sslFreeNull: number[];
  sslReadEmpty: number[];
  uprobesMapped: boolean;
  openssl: string;
  /** Set here: another tracer had probes on libssl during the run (a Sonde a test started beside the bench). */
  disturbed?: boolean;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The process waits on stdin once set up; `go()` starts the loops and resolves with their result. */
async function startLoops(binary: string, iterations: number, rounds: number): Promise<{ pid: number; go(): Promise<LoopRun>; kill(): void }> {
  const child = spawnTied(binary, [String(iterations), String(rounds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const next = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null): void => reject(new Error(`uprobe-hit exited ${code}`));
      child.once('exit', onExit);
      lines.once('line', (l) => {
        child.off('exit', onExit);
        resolve(l);
      });
    });
  const ready = await next();
  if (ready !== 'ready') throw new Error(`uprobe-hit: expected "ready", got ${ready}`);
  return {
    pid: child.pid!,
    go: async () => {
      const result = next();
      child.stdin!.end('go\n');
      const run = JSON.parse(await result) as LoopRun;
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      return run;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The ids of the BPF maps and programs a process holds open (other Sondes may be loaded: a test run beside the bench). */
function bpfIdsOf(pid: number): { maps: Set<number>; progs: Set<number> } {
  const maps = new Set<number>();
  const progs = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info: string;
    try {
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const map = /^map_id:\s*(\d+)$/m.exec(info);
    const prog = /^prog_id:\s*(\d+)$/m.exec(info);
    if (map) maps.add(Number(map[1]));
    if (prog) progs.add(Number(prog[1]));
  }
  return { maps, progs };
}

function bpftool<T>(args: string[]): T {
  return JSON.parse(execFileSync('bpftool', [...args, '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as T;
}

/** The process filter's entry for `pid` in one Sonde's map (absent: the default, ignore under selectors). */
function verdictOf(sondePid: number, pid: number): number | null {
  const { maps } = bpfIdsOf(sondePid);
  const map = bpftool<Array<{ id: number; name?: string }>>(['map', 'show']).find((m) => maps.has(m.id) && m.name === 'proc_verdict');
  if (!map) throw new Error(`no proc_verdict map held by Sonde (pid ${sondePid})`);
  const entries = bpftool<Array<{ formatted?: { key: number; value: number }; key: string[]; value: string[] }>>(['map', 'dump', 'id', String(map.id)]);
  for (const e of entries) {
    const key = e.formatted?.key ?? Buffer.from(e.key.map((b) => parseInt(b, 16))).readUInt32LE(0);
    if (key === pid) return e.formatted?.value ?? parseInt(e.value[0]!, 16);
  }
  return null;
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

type ProgStats = Map<string, { cnt: number; ns: number }>;

/** Run count and run time of one Sonde's TLS programs, by name. */
function tlsProgramStats(sondePid: number): ProgStats {
  const { progs } = bpfIdsOf(sondePid);
  const out: ProgStats = new Map();
  for (const p of bpftool<Array<{ id: number; name?: string; run_cnt?: number; run_time_ns?: number }>>(['prog', 'show'])) {
    if (!progs.has(p.id) || !p.name?.startsWith('sonde_tls_')) continue;
    out.set(p.name, { cnt: p.run_cnt ?? 0, ns: p.run_time_ns ?? 0 });
  }
  return out;
}

/** Sonde TLS programs loaded by anyone but `sondePid` (another Sonde: their probes on libssl add to every call). */
function foreignTlsPrograms(sondePid: number | null): number {
  const mine = sondePid === null ? new Set<number>() : bpfIdsOf(sondePid).progs;
  return bpftool<Array<{ id: number; name?: string }>>(['prog', 'show']).filter((p) => p.name?.startsWith('sonde_tls_') && !mine.has(p.id)).length;
}

/** Mean run time per run of each of `names` between two snapshots, added up: the BPF time of one call that runs each once. */
function bpfNsPerCall(before: ProgStats, after: ProgStats, names: readonly string[]): number {
  let total = 0;
  for (const name of names) {
    // The kernel keeps 15 characters of a name; bpftool shows the whole one where BTF has it.
    const key = [...after.keys()].find((k) => k === name || (k.length === 15 && name.startsWith(k)));
    if (!key) return NaN;
    const a = after.get(key)!;
    const b = before.get(key) ?? { cnt: 0, ns: 0 };
    if (a.cnt === b.cnt) return NaN;
    total += (a.ns - b.ns) / (a.cnt - b.cnt);
  }
  return total;
}

async function startSondeFor(cond: UprobeHitCondition, binary: string, sinkPort: number): Promise<BenchSonde | null> {
  if (cond === 'baseline') return null;
  // Selected by its executable's path; or Sonde selecting something else (a port no one uses).
  const args = cond === 'selected' ? ['--exe', binary] : ['--open-port', String(await freePort())];
  return BenchSonde.start(args, sinkPort);
}

async function oneRun(o: UprobeHitOptions, cond: UprobeHitCondition, iterations: number, rounds: number, withStats: boolean): Promise<{ run: LoopRun; bpf?: { free: number; read: number } }> {
  const loops = await startLoops(o.binary, iterations, rounds);
  let sonde: BenchSonde | null = null;
  try {
    sonde = await startSondeFor(cond, o.binary, o.sinkPort);
    if (sonde) {
      const v = verdictOf(sonde.pid, loops.pid);
      const selected = v !== null && v !== 0;
      if (selected !== (cond === 'selected')) throw new Error(`uprobe-hit (${cond}): the kernel's verdict for pid ${loops.pid} is ${v}`);
    }
    const foreignBefore = foreignTlsPrograms(sonde?.pid ?? null);
    const before = withStats && sonde ? tlsProgramStats(sonde.pid) : null;
    const run = await loops.go();
    if (sonde && !run.uprobesMapped) throw new Error(`uprobe-hit (${cond}): no uprobe was hit (is the system libssl probed?)`);
    // Without Sonde, a probe hit means another tracer is on libssl. Another
    // Sonde's programs (a test run beside the bench) add their cost to every call.
    run.disturbed = (!sonde && run.uprobesMapped) || foreignBefore > 0 || foreignTlsPrograms(sonde?.pid ?? null) > 0;
    if (run.disturbed) o.log(`uprobe hit: ${cond}: another tracer had probes on libssl during the run; it is left out`);
    if (!before || !sonde) return { run };
    const after = tlsProgramStats(sonde.pid);
    return {
      run,
      bpf: {
        free: bpfNsPerCall(before, after, ['sonde_tls_free']),
        read: bpfNsPerCall(before, after, ['sonde_tls_read', 'sonde_tls_ret_int']),
      },
    };
  } finally {
    loops.kill();
    await sonde?.stop();
  }
}

/** The measurement: conditions interleaved, `repetitions` times; then the BPF programs' own time. */
export async function uprobeHit(o: UprobeHitOptions): Promise<UprobeHitResult> {
  const conds: UprobeHitCondition[] = ['baseline', 'selected', 'unselected'];
  const runs: Record<UprobeHitCondition, LoopRun[]> = { baseline: [], selected: [], unselected: [] };
  const statsBefore = readFileSync(BPF_STATS, 'utf8').trim();
  let openssl = '';
  const bpf: Partial<Record<UprobeHitCondition, { free: number; read: number }>> = {};
  try {
    writeFileSync(BPF_STATS, '0');
    for (let rep = 0; rep < o.repetitions; rep++) {
      for (const cond of conds) {
        o.log(`uprobe hit: ${cond} (${rep + 1}/${o.repetitions})`);
        const { run } = await oneRun(o, cond, o.iterations, o.rounds, false);
        runs[cond].push(run);
        openssl = run.openssl;
      }
    }
    writeFileSync(BPF_STATS, '1');
    for (const cond of ['selected', 'unselected'] as const) {
      o.log(`uprobe hit: ${cond}, BPF run time (kernel.bpf_stats_enabled)`);
      bpf[cond] = (await oneRun(o, cond, Math.max(1000, Math.floor(o.iterations / 4)), 1, true)).bpf!;
    }
  } finally {
    writeFileSync(BPF_STATS, statsBefore);
  }
  // A run's figure: the median of its rounds. The condition's: the median of its undisturbed runs.
  const perRun = (cond: UprobeHitCondition, pick: (r: LoopRun) => number[]): number[] => runs[cond].filter((r) => !r.disturbed).map((r) => median(pick(r)));
  const calls = [
    { call: 'SSL_free(NULL)', probes: 'uprobe', pick: (r: LoopRun) => r.sslFreeNull, bpf: (c: UprobeHitCondition) => bpf[c]?.free ?? NaN },
    { call: 'SSL_read, nothing to read (returns -1)', probes: 'uprobe + uretprobe', pick: (r: LoopRun) => r.sslReadEmpty, bpf: (c: UprobeHitCondition) => bpf[c]?.read ?? NaN },
  ] as const;
  return {
    openssl,
    disturbedRuns: conds.reduce((n, c) => n + runs[c].filter((r) => r.disturbed).length, 0),
    iterations: o.iterations,
    rounds: o.rounds,
    repetitions: o.repetitions,
    rows: calls.map((c) => {
      const runsOf = (cond: UprobeHitCondition): number[] => perRun(cond, c.pick);
      return {
        call: c.call,
        probes: c.probes,
        baselineNs: median(runsOf('baseline')),
        selectedNs: median(runsOf('selected')),
        unselectedNs: median(runsOf('unselected')),
        runsNs: { baseline: runsOf('baseline'), selected: runsOf('selected'), unselected: runsOf('unselected') },
        bpfNs: { selected: c.bpf('selected'), unselected: c.bpf('unselected') },
      };
    }),
  };
}
