/**
 * `npm run bench`: what Sonde costs the applications it watches and what
 * it costs itself, measured side by side in one run; its capacity; and its
 * pipeline alone, from a recorded stream. Writes bench/results/latest.md
 * and latest.json. `--quick` runs shorter and once. `--only=tls` runs the
 * HTTPS section alone (the TLS servers and the cost of one probed call),
 * `--only=grpc` the gRPC rows alone.
 *
 * Absolute numbers on a shared 2-core machine are noisy: conditions are
 * interleaved (baseline, traced, untraced; then again) and compared as
 * ratios within the run, and each figure is the median over repetitions.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { startNginx, startNodeServer, stopper, type Peer } from '../test/helpers/peers.js';
import { freePort } from '../test/helpers/ports.js';
import { configFile, ROOT } from '../test/helpers/sonde.js';
import { startNginxTls, startNodeHttpsServer } from '../test/helpers/tls.js';
import { spawnTied } from '../test/helpers/tied.js';
import { fixedRate, saturate, type LoadResult } from './lib/load.js';
import { sampleRss } from './lib/proc.js';
import { breakdown, type CpuProfile } from './lib/profileBreakdown.js';
import { renderMarkdown, type BenchResults, type CapacityRow, type OverheadRow, type PipelineRow, type Profiled, type TlsRow } from './lib/report.js';
import { BenchSonde, bpfRunNs, enableBpfStats, type SondeReport } from './lib/sondeRun.js';
import { grpcOverhead } from './lib/grpcRows.js';
import { median, sideBySideRows, type ConditionRun } from './lib/sideBySide.js';
import { uprobeHit } from './lib/uprobeHit.js';

const exec = promisify(execFile);
const QUICK = process.argv.includes('--quick');
const SECONDS = QUICK ? 3 : 8;
const REPS = QUICK ? 1 : 2;
const RATES = [1000, 5000, 10000];
const CAPACITY_RATES = QUICK ? [10000, 20000] : [10000, 15000, 20000, 30000, 40000];
const LOADGEN = process.env.SONDE_BENCH_LOADGEN ?? '';
const GOSERVER = process.env.SONDE_BENCH_GOSERVER ?? '';
const UPROBE_HIT = process.env.SONDE_BENCH_UPROBE_HIT ?? '';
const SECTIONS = ['tls', 'grpc'] as const;
const ONLY = ((): (typeof SECTIONS)[number] | null => {
  const arg = process.argv.find((a) => a.startsWith('--only='));
  if (!arg) return null;
  const only = arg.slice('--only='.length);
  if (!(SECTIONS as readonly string[]).includes(only)) throw new Error(`--only: one of ${SECTIONS.join(', ')}`);
  return only as (typeof SECTIONS)[number];
})();

type Condition = 'baseline' | 'traced' | 'untraced';

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

async function startLineServer(cmd: string, args: string[], name: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawnTied(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited ${code}`)));
  });
  return {
    pid: child.pid!,
    stop: stopper(child),
  };
}

async function startGoServer(port: number): Promise<Peer> {
  const child = spawnTied(GOSERVER, ['-addr', `127.0.0.1:${port}`], { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    try {
      await exec('curl', ['-sf', '-o', '/dev/null', `http://127.0.0.1:${port}/`]);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  return {
    pid: child.pid!,
    port,
    dir: '',
    stop: stopper(child),
  };
}

interface Measured {
  sat: LoadResult;
  rates: Map<number, { load: LoadResult; cpuUs: number; bpfNs: number; rssMiB: number }>;
  report: SondeReport | null;
}

/** One condition against one server: saturation, then each fixed rate. */
async function measure(url: string, cond: Condition, serverPort: number, sinkPort: number): Promise<Measured> {
  let sonde: BenchSonde | null = null;
  if (cond !== 'baseline') {
    const port = cond === 'traced' ? serverPort : await freePort();
    sonde = await BenchSonde.start(['--open-port', String(port)], sinkPort);
  }
  const sat = await saturate(url, SECONDS);
  const rates = new Map<number, { load: LoadResult; cpuUs: number; bpfNs: number; rssMiB: number }>();
  for (const rate of RATES) {
    const cpu0 = sonde?.cpuMicros() ?? 0;
    const bpf0 = sonde ? bpfRunNs() : 0;
    const load = await fixedRate(LOADGEN, url, rate, SECONDS);
    rates.set(rate, {
      load,
      cpuUs: sonde ? sonde.cpuMicros() - cpu0 : 0,
      bpfNs: sonde ? bpfRunNs() - bpf0 : 0,
      rssMiB: sonde?.rssMiB() ?? 0,
    });
  }
  const stopped = sonde ? await sonde.stop() : null;
  return { sat, rates, report: stopped?.report ?? null };
}

async function overhead(sinkPort: number): Promise<OverheadRow[]> {
  const rows: OverheadRow[] = [];
  const servers: Array<{ name: string; start: () => Promise<Peer>; path: string }> = [
    { name: 'nginx', start: async () => startNginx(await freePort()), path: '/index.html' },
    { name: 'node http', start: async () => startNodeServer(await freePort()), path: '/' },
    { name: 'go net/http', start: async () => startGoServer(await freePort()), path: '/' },
  ];
  for (const s of servers) {
    const peer = await s.start();
    const url = `http://127.0.0.1:${peer.port}${s.path}`;
    const runs: Record<Condition, Measured[]> = { baseline: [], traced: [], untraced: [] };
    try {
      for (let rep = 0; rep < REPS; rep++) {
        for (const cond of ['baseline', 'traced', 'untraced'] as const) {
          log(`${s.name}: ${cond} (${rep + 1}/${REPS})`);
          runs[cond].push(await measure(url, cond, peer.port, sinkPort));
        }
      }
    } finally {
      await peer.stop();
    }
    const agg = (cond: Condition, pick: (m: Measured) => number): number => median(runs[cond].map(pick));
    const loads: Array<['saturation' | number, (m: Measured) => LoadResult]> = [
      ['saturation', (m) => m.sat],
      ...RATES.map((r): ['saturation' | number, (m: Measured) => LoadResult] => [r, (m) => m.rates.get(r)!.load]),
    ];
    for (const [load, pick] of loads) {
      const base = { rps: agg('baseline', (m) => pick(m).rps), p50: agg('baseline', (m) => pick(m).p50us), p99: agg('baseline', (m) => pick(m).p99us) };
      const traced = { rps: agg('traced', (m) => pick(m).rps), p50: agg('traced', (m) => pick(m).p50us), p99: agg('traced', (m) => pick(m).p99us) };
      const untraced = { rps: agg('untraced', (m) => pick(m).rps), p50: agg('untraced', (m) => pick(m).p50us), p99: agg('untraced', (m) => pick(m).p99us) };
      const cost =
        typeof load === 'number'
          ? {
              cpuUsPerRequest: agg('traced', (m) => m.rates.get(load)!.cpuUs / Math.max(1, m.rates.get(load)!.load.requests)),
              bpfNsPerRequest: agg('traced', (m) => m.rates.get(load)!.bpfNs / Math.max(1, m.rates.get(load)!.load.requests)),
              coreShare: agg('traced', (m) => m.rates.get(load)!.cpuUs / (SECONDS * 1e6)),
              rssMiB: agg('traced', (m) => m.rates.get(load)!.rssMiB),
            }
          : null;
      const baseP99s = runs.baseline.map((m) => pick(m).p99us);
      rows.push({ server: s.name, load, baseline: base, baselineP99Spread: Math.max(...baseP99s) - Math.min(...baseP99s), traced, untraced, cost });
    }
    const losses = runs.traced.map((m) => m.report?.lostDataRecords ?? 0).reduce((a, b) => a + b, 0);
    if (losses > 0) log(`${s.name}: ${losses} records lost while traced`);
  }
  return rows;
}

type TlsCondition = 'baseline' | 'probesOff' | 'traced';
const TLS_RATE = 5000;

/** One condition against one https server: saturation, then TLS_RATE. */
async function measureTls(url: string, cond: TlsCondition, serverPort: number, sinkPort: number): Promise<ConditionRun> {
  let sonde: BenchSonde | null = null;
  if (cond !== 'baseline') {
    const config = configFile(`ebpf:\n  tls: ${cond === 'traced'}\n`);
    sonde = await BenchSonde.start(['--open-port', String(serverPort), '--config', config], sinkPort);
  }
  const sat = await saturate(url, SECONDS);
  const cpu0 = sonde?.cpuMicros() ?? 0;
  const bpf0 = sonde ? bpfRunNs() : 0;
  const fixed = await fixedRate(LOADGEN, url, TLS_RATE, SECONDS);
  const cpuUs = sonde ? sonde.cpuMicros() - cpu0 : 0;
  const bpfNs = sonde ? bpfRunNs() - bpf0 : 0;
  const report = sonde ? (await sonde.stop()).report : null;
  return { sat, fixed, cpuUs, bpfNs, spans: report?.spans ?? 0 };
}

/** HTTPS rows: what the uprobes on the TLS library cost the application. */
async function tlsOverhead(sinkPort: number): Promise<TlsRow[]> {
  const rows: TlsRow[] = [];
  const servers: Array<{ name: string; start: () => Promise<Peer>; path: string }> = [
    { name: 'nginx (libssl)', start: async () => startNginxTls(await freePort()), path: '/index.html' },
    { name: 'node https (built-in OpenSSL)', start: async () => startNodeHttpsServer(await freePort()), path: '/' },
  ];
  for (const s of servers) {
    const peer = await s.start();
    const url = `https://127.0.0.1:${peer.port}${s.path}`;
    const runs: Record<TlsCondition, ConditionRun[]> = { baseline: [], probesOff: [], traced: [] };
    try {
      for (let rep = 0; rep < REPS; rep++) {
        for (const cond of ['baseline', 'probesOff', 'traced'] as const) {
          log(`${s.name}: ${cond} (${rep + 1}/${REPS})`);
          runs[cond].push(await measureTls(url, cond, peer.port, sinkPort));
        }
      }
    } finally {
      await peer.stop();
    }
    for (const row of sideBySideRows(runs, TLS_RATE)) {
      rows.push({ server: s.name, load: row.load, baseline: row.latency.baseline, probesOff: row.latency.probesOff, traced: row.latency.traced, cost: row.cost });
    }
  }
  return rows;
}

async function capacity(sinkPort: number): Promise<{ rows: CapacityRow[]; overload: { rate: number; rssMiB: number[]; exitCode: number; report: SondeReport } }> {
  const peer = await startGoServer(await freePort());
  const url = `http://127.0.0.1:${peer.port}/`;
  const rows: CapacityRow[] = [];
  try {
    for (const rate of CAPACITY_RATES) {
      log(`capacity: ${rate} req/s`);
      const sonde = await BenchSonde.start(['--open-port', String(peer.port)], sinkPort);
      const load = await fixedRate(LOADGEN, url, rate, SECONDS, 64);
      const rss = sonde.rssMiB();
      const { report } = await sonde.stop();
      rows.push({ rate, achieved: load.rps, requests: load.requests, spans: report.spans, lost: report.lostDataRecords + report.lostControlRecords, parseErrors: report.parseErrors, rssMiB: rss });
    }
    const overRate = CAPACITY_RATES[CAPACITY_RATES.length - 1]! * 2;
    log(`overload: ${overRate} req/s for ${SECONDS * 3} s, sampling memory`);
    const sonde = await BenchSonde.start(['--open-port', String(peer.port)], sinkPort);
    const rss = sampleRss(sonde.pid, 1000);
    await fixedRate(LOADGEN, url, overRate, SECONDS * 3, 128);
    const samples = rss.stop();
    const { exitCode, report } = await sonde.stop();
    return { rows, overload: { rate: overRate, rssMiB: samples, exitCode, report } };
  } finally {
    await peer.stop();
  }
}

/** One traced run at 10k req/s under V8's sampling profiler: where Sonde's CPU goes. */
async function whereTimeGoes(sinkPort: number): Promise<Profiled> {
  const peer = await startGoServer(await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-'));
  const file = join(dir, 'sonde.cpuprofile');
  const rate = 10000;
  try {
    log(`profile: ${rate} req/s, traced, under the CPU profiler`);
    const sonde = await BenchSonde.start(['--open-port', String(peer.port)], sinkPort, { SONDE_CPU_PROFILE: file });
    const cpu0 = sonde.cpuMicros();
    const load = await fixedRate(LOADGEN, `http://127.0.0.1:${peer.port}/`, rate, SECONDS);
    const cpuUs = sonde.cpuMicros() - cpu0;
    await sonde.stop();
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const idle = new Set(profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id));
    const busyUs = profile.samples.reduce((a, id, i) => a + (idle.has(id) ? 0 : profile.timeDeltas[i]!), 0);
    return { rate, requests: load.requests, cpuUsPerRequest: cpuUs / Math.max(1, load.requests), mainThreadUsPerRequest: busyUs / Math.max(1, load.requests), parts: breakdown(profile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await peer.stop();
  }
}

async function pipelineAlone(sinkPort: number): Promise<PipelineRow[]> {
  const peer = await startGoServer(await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'sonde-bench-'));
  const file = join(dir, 'stream.sonde');
  try {
    log('pipeline: recording a stream of real events');
    const rec = spawnTied(join(ROOT, 'sonde'), ['record', file, '--print', 'disabled', '--open-port', String(peer.port)], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] }, 'SIGTERM');
    await new Promise<void>((resolve) => createInterface({ input: rec.stderr! }).on('line', (l) => l.includes('sonde capturing') && resolve()));
    const load = await fixedRate(LOADGEN, `http://127.0.0.1:${peer.port}/`, 10000, QUICK ? 2 : 5, 32);
    rec.kill('SIGINT');
    await new Promise((r) => rec.once('exit', r));
    const rows: PipelineRow[] = [];
    for (const [label, env] of [
      ['parse and build spans, no export', { OTEL_EBPF_TRACE_PRINTER: 'disabled' }],
      ['... and export OTLP/gRPC', { OTEL_EBPF_TRACE_PRINTER: 'disabled', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_BSP_MAX_QUEUE_SIZE: '65536', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048', OTEL_BSP_SCHEDULE_DELAY: '200' }],
    ] as const) {
      const { stderr } = await exec(join(ROOT, 'sonde'), ['replay', file], { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
      const done = stderr.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'replay done')!;
      rows.push({
        label,
        requests: load.requests,
        records: Number(done['records']),
        spans: Number(done['spans']),
        ms: Number(done['handleMs']),
        recordsPerSecond: Number(done['recordsPerSecond']),
      });
    }
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await peer.stop();
  }
}

async function main(): Promise<void> {
  if (!LOADGEN || !GOSERVER || !UPROBE_HIT) throw new Error('run through `npm run bench` (bench/run.sh builds the Go load generator and server, and the uprobe-hit loop)');
  const all = ONLY === null;
  const withTls = all || ONLY === 'tls';
  const restoreStats = enableBpfStats();
  const sinkPort = await freePort();
  const sink = await startLineServer(process.execPath, [join(ROOT, 'bench/peers/otlp-sink.mjs'), String(sinkPort)], 'OTLP sink');
  const started = Date.now();
  try {
    const results: BenchResults = {
      date: new Date().toISOString(),
      machine: (await exec('uname', ['-r'])).stdout.trim(),
      quick: QUICK,
      secondsPerRun: SECONDS,
      repetitions: REPS,
      only: ONLY,
      overhead: all ? await overhead(sinkPort) : [],
      tls: withTls ? await tlsOverhead(sinkPort) : [],
      uprobeHit: withTls
        ? await uprobeHit({
            binary: UPROBE_HIT,
            // A probe hit takes microseconds (about 9 µs under this machine's hypervisor): 100k calls are about a second.
            iterations: QUICK ? 50_000 : 100_000,
            rounds: QUICK ? 3 : 5,
            repetitions: QUICK ? 2 : 3,
            sinkPort,
            log,
          })
        : null,
      grpc: all || ONLY === 'grpc' ? await grpcOverhead({ seconds: SECONDS, repetitions: REPS, sinkPort, log }) : [],
      capacity: all ? await capacity(sinkPort) : null,
      pipeline: all ? await pipelineAlone(sinkPort) : [],
      profile: all ? await whereTimeGoes(sinkPort) : null,
      minutes: 0,
    };
    results.minutes = (Date.now() - started) / 60000;
    const out = join(ROOT, 'bench/results');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    const md = renderMarkdown(results);
    writeFileSync(join(out, 'latest.md'), md);
    process.stdout.write(md);
  } finally {
    await sink.stop();
    restoreStats();
  }
}

await main();
