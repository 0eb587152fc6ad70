/**
 * Every capture mode on real kernels: Debian's 6.1 and 6.12 cloud kernels
 * booted in qemu (TCG), and this machine's own kernel, each running the
 * real `sonde doctor` and `sonde run` against a real Node server and curl
 * (test/kernels/guest/case.mjs), judged like the host's integration tests.
 *
 * Prepared once and cached outside the repository (scripts/kernels/): the
 * kernels, and the guest initramfs built from this machine's own files.
 * At the end the matrix is printed and written to
 * test/kernels/results/latest.md (with each case's console and records
 * beside it; the directory is git-ignored).
 *
 *   SONDE_KERNEL_MATRIX=0           skip the matrix
 *   SONDE_KERNELS=6.12,host         only these kernels
 *   SONDE_KERNEL_PARALLEL=2         guests at once (each is one host thread)
 *   SONDE_KERNEL_CASE_TIMEOUT=300   seconds before a guest is killed
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { CASES, seriesOf, type MatrixCase } from './cases.js';
import { formatReport, type CaseOutcome } from './evaluate.js';
import { isQemu, killAll, lockMatrix, pool, prepare, RESULTS_DIR, runInQemu, runOnHost, type Prepared } from './runner.js';

const skip = process.env.SONDE_KERNEL_MATRIX === '0';
const only = process.env.SONDE_KERNELS?.split(',').map((s) => s.trim()).filter(Boolean);
const cases: MatrixCase[] = CASES.filter((c) => !only || only.includes(c.kernel));
const parallel = Math.max(1, Number(process.env.SONDE_KERNEL_PARALLEL ?? 2));

const outcomes = new Map<string, CaseOutcome>();
let prepared: Prepared | null = null;
let prepareSeconds = 0;
let matrixSeconds = 0;
let waitedSeconds = 0;
let unlock: (() => void) | null = null;

function progress(o: CaseOutcome): void {
  process.stdout.write(`[kernels] ${o.id}: ${o.pass ? 'pass' : 'FAIL'} (${o.capture}, ${o.spansReceived}/${o.spansExpected} spans, ${o.seconds.toFixed(0)} s)\n`);
}

describe.skipIf(skip || cases.length === 0)('kernel matrix', () => {
  beforeAll(async () => {
    const tw = Date.now();
    unlock = await lockMatrix(() => process.stdout.write('[kernels] another kernel matrix is running on this machine: waiting for it\n'));
    waitedSeconds = (Date.now() - tw) / 1000;
    const t0 = Date.now();
    prepared = await prepare(seriesOf(cases));
    prepareSeconds = (Date.now() - t0) / 1000;
    const t1 = Date.now();
    const run = async (c: MatrixCase): Promise<void> => {
      const o = isQemu(c.kernel) ? await runInQemu(c, prepared!) : await runOnHost(c);
      outcomes.set(c.id, o);
      progress(o);
    };
    // Guests in parallel (one host core each); the host's own cases beside them.
    await Promise.all([pool(cases.filter((c) => isQemu(c.kernel)), parallel, run), pool(cases.filter((c) => !isQemu(c.kernel)), 1, run)]);
    matrixSeconds = (Date.now() - t1) / 1000;
  }, 60 * 60_000);

  afterAll(() => {
    killAll();
    try {
      if (outcomes.size > 0) report();
    } finally {
      unlock?.();
    }
  });

  function report(): void {
    const versions = prepared
      ? [...prepared.kernels.values()].map((d) => readFileSync(join(d, 'package'), 'utf8').replace(/\n(?=.)/g, ' ').trim())
      : [];
    const header = [
      '# Sonde kernel matrix',
      '',
      `Run ${new Date().toISOString()} on host kernel ${release()}; guests: qemu TCG, 1 vCPU, 2 GiB, ${parallel} at a time.`,
      ...versions.map((v) => `- ${v}`),
      '',
      `Prepare (packages, kernels, initramfs): ${prepareSeconds.toFixed(0)} s; cases: ${matrixSeconds.toFixed(0)} s` +
        (waitedSeconds >= 1 ? ` (after waiting ${waitedSeconds.toFixed(0)} s for another matrix run).` : '.'),
    ].join('\n');
    const ordered = cases.map((c) => outcomes.get(c.id)).filter((o): o is CaseOutcome => o !== undefined);
    const text = formatReport(ordered, header);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'latest.md'), text);
    process.stdout.write(`\n${text}\n`);
  }

  for (const c of cases) {
    it(`${c.id}: ${c.kernel === 'host' ? 'this kernel' : `Linux ${c.kernel} in qemu`}, capture mode ${c.mode}${c.socketLookup ? ` (${c.socketLookup})` : ''}`, () => {
      const o = outcomes.get(c.id);
      if (!o) throw new Error(`${c.id} did not run`);
      if (!o.pass) {
        const verifier = o.verifier ? `\nverifier log of ${o.verifier.program}:\n${o.verifier.log.split('\n').slice(-60).join('\n')}` : '';
        throw new Error(`${o.failures.join('\n')}${verifier}\n(see test/kernels/results/${c.id}/)`);
      }
    });
  }
});
