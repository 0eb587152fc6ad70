/**
 * Runs the cases of the kernel matrix: in qemu through
 * scripts/kernels/run-case.sh, or directly on the host. Every child runs in
 * its own process group, so killAll() leaves no qemu behind, whatever
 * state a case is in; and each is tied to the test worker (parent-death
 * signal), as qemu is to run-case.sh, so a worker killed mid-case takes its
 * guests with it.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { ROOT } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';
import type { KernelSeries, MatrixCase } from './cases.js';
import { evaluate, parseRecords, type CaseOutcome } from './evaluate.js';

export const RESULTS_DIR = join(ROOT, 'test/kernels/results');

export interface Prepared {
  readonly kernels: ReadonlyMap<string, string>;
  readonly initrd: string;
}

const running = new Set<ChildProcess>();

/** SIGKILL every process group this module started and has not seen end. */
export function killAll(): void {
  for (const child of running) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}
process.once('exit', killAll);

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Killed by our own watchdog. */
  killed: boolean;
}

/** Run a command in a new process group, killed (group and all) after timeoutMs. */
function runGroup(cmd: string, args: string[], timeoutMs: number, onStderr?: (s: string) => void): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawnTied(cmd, args, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(d.toString());
    });
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      running.delete(child);
      // Whatever the group still holds (nothing, normally) goes too.
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      resolve({ code, stdout, stderr, killed });
    });
  });
}

/**
 * One matrix at a time on this machine: every `npm test` of every checkout
 * runs it, and two would share the cache, starve each other's guests of the
 * two cores, and overwrite each other's results. flock(1) holds the lock
 * for as long as its stdin stays open, so a test process that dies
 * releases it. Resolves, once held, to the function that releases it.
 */
export async function lockMatrix(onWait: () => void): Promise<() => void> {
  // Per machine, not per cache directory: the cores are what is shared.
  const lockFile = existsSync('/run/lock') ? '/run/lock/sonde-kernel-matrix.lock' : '/tmp/sonde-kernel-matrix.lock';
  const child = spawnTied('flock', ['-x', lockFile, 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting = setTimeout(onWait, 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('locked') && resolve());
      child.on('exit', (code) => reject(new Error(`flock exited ${code} before taking the matrix lock`)));
    });
  } finally {
    clearTimeout(waiting);
  }
  return () => {
    child.stdin!.end();
    child.kill();
  };
}

/** Install what is missing, fetch the kernels, build the guest initramfs. */
export async function prepare(series: readonly string[]): Promise<Prepared> {
  const r = await runGroup('bash', [join(ROOT, 'scripts/kernels/prepare.sh'), ...series], 30 * 60_000, (s) => process.stderr.write(s));
  if (r.code !== 0) throw new Error(`scripts/kernels/prepare.sh failed (${r.code}):\n${r.stderr}`);
  const kernels = new Map<string, string>();
  let initrd = '';
  for (const line of r.stdout.trim().split('\n')) {
    const [what, a, b] = line.split(' ');
    if (what === 'kernel' && a && b) kernels.set(a, b);
    if (what === 'initrd' && a) initrd = a;
  }
  if (!initrd || kernels.size !== series.length) throw new Error(`unexpected output of prepare.sh:\n${r.stdout}\n${r.stderr}`);
  return { kernels, initrd };
}

function caseDir(c: MatrixCase): string {
  const dir = join(RESULTS_DIR, c.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'latin1') : '');

function consoleTail(path: string, lines = 25): string {
  return read(path).replace(/\r/g, '').trimEnd().split('\n').slice(-lines).join('\n');
}

/** Seconds a guest may take, boot to power-off, before qemu is killed. */
export const GUEST_TIMEOUT_S = Number(process.env.SONDE_KERNEL_CASE_TIMEOUT ?? 300);

export async function runInQemu(c: MatrixCase, prepared: Prepared): Promise<CaseOutcome> {
  const dir = caseDir(c);
  const kdir = prepared.kernels.get(c.kernel);
  if (!kdir) throw new Error(`kernel ${c.kernel} was not prepared`);
  const spec = JSON.stringify({ id: c.id, mode: c.mode, socketLookup: c.socketLookup, port: 8080 });
  const started = Date.now();
  const r = await runGroup(
    'bash',
    [join(ROOT, 'scripts/kernels/run-case.sh'), kdir, prepared.initrd, dir, spec, String(GUEST_TIMEOUT_S)],
    (GUEST_TIMEOUT_S + 30) * 1000,
  );
  const seconds = (Date.now() - started) / 1000;
  const timedOut = r.killed || r.code === 124 || r.code === 137;
  const records = parseRecords(read(join(dir, 'result.jsonl')));
  const outcome = evaluate(c, records, { timedOut, seconds, consoleTail: consoleTail(join(dir, 'console.log')) });
  if (r.code !== 0 && !timedOut) outcome.failures.push(`run-case.sh exited ${r.code}: ${r.stderr.trim()}`);
  return { ...outcome, pass: outcome.failures.length === 0 };
}

export async function runOnHost(c: MatrixCase): Promise<CaseOutcome> {
  const dir = caseDir(c);
  const out = join(dir, 'result.jsonl');
  const spec = JSON.stringify({ id: c.id, mode: c.mode, socketLookup: c.socketLookup, port: await freePort(), readyTimeoutMs: 30_000, spansTimeoutMs: 15_000 });
  const started = Date.now();
  const r = await runGroup(process.execPath, [join(ROOT, 'test/kernels/guest/case.mjs'), '--out', out, '--case', spec], 120_000);
  const seconds = (Date.now() - started) / 1000;
  const outcome = evaluate(c, parseRecords(read(out)), { timedOut: r.killed, seconds, consoleTail: r.stdout.trim().split('\n').slice(-25).join('\n') });
  return outcome;
}

/** Run `fn` over `items`, at most `n` at a time, keeping the order of results. */
export async function pool<T, R>(items: readonly T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return results;
}

export function isQemu(k: KernelSeries): k is Exclude<KernelSeries, 'host'> {
  return k !== 'host';
}
