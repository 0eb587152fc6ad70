/** The benchmark's results as data (latest.json) and as tables (latest.md), with the targets. */

export interface Latency {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
}

export interface OverheadRow {
  readonly server: string;
  readonly load: 'saturation' | number;
  readonly baseline: Latency;
  /** Baseline p99 between repetitions (max - min): the noise any p99 change must be read against. */
  readonly baselineP99Spread: number;
  readonly traced: Latency;
  readonly untraced: Latency;
  /** Sonde's own cost while tracing, at fixed rates. */
  readonly cost: { cpuUsPerRequest: number; bpfNsPerRequest: number; coreShare: number; rssMiB: number } | null;
}

/** HTTPS: the same server without Sonde, traced with the TLS probes off, and traced with them. */
export interface TlsRow {
  readonly server: string;
  readonly load: 'saturation' | number;
  readonly baseline: Latency;
  readonly probesOff: Latency;
  readonly traced: Latency;
  /** Traced, at fixed rates: Sonde's CPU per request, and spans per request (1.0: every request seen). */
  readonly cost: { cpuUsPerRequest: number; bpfNsPerRequest: number; spansPerRequest: number } | null;
}

/** gRPC unary calls (grpc-go's client): the same server without Sonde, and traced. */
export interface GrpcRow {
  readonly server: string;
  readonly load: 'saturation' | number;
  readonly baseline: Latency;
  readonly traced: Latency;
  /** Traced, at the fixed rate: Sonde's CPU and in-kernel time per call, spans per call (1.0: every call seen). */
  readonly cost: { cpuUsPerRequest: number; bpfNsPerRequest: number; spansPerRequest: number } | null;
}

/** What one probed TLS-library call costs the calling thread (bench/peers/uprobe-hit). */
export type UprobeHitCondition = 'baseline' | 'selected' | 'unselected';

export interface UprobeHitRow {
  /** The call timed in a loop, and the probes Sonde has on it. */
  readonly call: string;
  readonly probes: string;
  /** Nanoseconds per call: without Sonde; Sonde selecting the process; Sonde running, not selecting it. Medians of the runs. */
  readonly baselineNs: number;
  readonly selectedNs: number;
  readonly unselectedNs: number;
  /** Each undisturbed run's figure (the median of its rounds), in run order: the noise. */
  readonly runsNs: Readonly<Record<UprobeHitCondition, readonly number[]>>;
  /** Sonde's BPF programs' own time per call (kernel.bpf_stats_enabled, a separate run); the rest of the delta is the trap. */
  readonly bpfNs: { readonly selected: number; readonly unselected: number };
}

export interface UprobeHitResult {
  readonly openssl: string;
  /** Runs left out: another tracer had probes on libssl meanwhile (a Sonde a test started). 0 in a clean run. */
  readonly disturbedRuns: number;
  readonly iterations: number;
  readonly rounds: number;
  readonly repetitions: number;
  readonly rows: readonly UprobeHitRow[];
}

export interface CapacityRow {
  readonly rate: number;
  readonly achieved: number;
  readonly requests: number;
  readonly spans: number;
  readonly lost: number;
  readonly parseErrors: number;
  readonly rssMiB: number;
}

export interface PipelineRow {
  readonly label: string;
  readonly requests: number;
  readonly records: number;
  readonly spans: number;
  readonly ms: number;
  readonly recordsPerSecond: number;
}

/** One profiled run: Sonde's CPU per request, and its main thread's time by part. */
export interface Profiled {
  readonly rate: number;
  readonly requests: number;
  readonly cpuUsPerRequest: number;
  readonly mainThreadUsPerRequest: number;
  readonly parts: ReadonlyArray<{ readonly part: string; readonly share: number }>;
}

export interface BenchResults {
  date: string;
  machine: string;
  quick: boolean;
  secondsPerRun: number;
  repetitions: number;
  /** `--only=SECTION`: the sections not run are empty (null). */
  only: string | null;
  overhead: OverheadRow[];
  tls: TlsRow[];
  uprobeHit: UprobeHitResult | null;
  grpc: GrpcRow[];
  capacity: {
    rows: CapacityRow[];
    overload: { rate: number; rssMiB: number[]; exitCode: number; report: { spans: number; lostDataRecords: number; lostControlRecords: number } };
  } | null;
  pipeline: PipelineRow[];
  profile: Profiled | null;
  minutes: number;
}

const f0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const f1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(1)} %` : '-');
const signed = (n: number): string => (Number.isFinite(n) ? `${n >= 0 ? '+' : ''}${Math.round(n)}` : '-');

/** ns: one decimal while small, whole numbers above. */
const ns = (n: number): string => (!Number.isFinite(n) ? '-' : Math.abs(n) < 100 ? n.toFixed(1) : f0(n));
const signedNs = (n: number): string => (Number.isFinite(n) ? `${n >= 0 ? '+' : '-'}${ns(Math.abs(n))}` : '-');

function renderUprobeHit(u: UprobeHitResult): string[] {
  const out: string[] = [];
  out.push(
    `What one probed call costs the calling thread: a C program linked to the system libssl (${u.openssl}) times ${f0(u.iterations)} calls in a loop, ` +
      `${u.rounds} rounds per run, ${u.repetitions} run${u.repetitions > 1 ? 's' : ''} per condition, interleaved: without Sonde; with Sonde selecting the process (\`--exe\`); ` +
      'and with Sonde running but not selecting it, which still takes the trap, since the probes are on the library file, and whose BPF programs stop at the process filter. ' +
      'ns per call, medians; the runs column shows the noise. `kernel.bpf_stats_enabled` is off while the loops run; "BPF programs" is their own run time per call ' +
      '(from a separate run with it on): the rest of the increase is the kernel\'s breakpoint trap and, for SSL_read, its return trampoline.',
    '',
  );
  out.push('| call | Sonde\'s probes | without Sonde | selected | selected: Δ | unselected | unselected: Δ | BPF programs: selected / unselected | runs: without / selected / unselected |');
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const h of u.rows) {
    const runs = (['baseline', 'selected', 'unselected'] as const).map((c) => h.runsNs[c].map(ns).join(', ')).join(' / ');
    out.push(
      `| ${h.call} | ${h.probes} | ${ns(h.baselineNs)} | ${ns(h.selectedNs)} | ${signedNs(h.selectedNs - h.baselineNs)} | ${ns(h.unselectedNs)} | ${signedNs(h.unselectedNs - h.baselineNs)} | ${ns(h.bpfNs.selected)} / ${ns(h.bpfNs.unselected)} | ${runs} |`,
    );
  }
  out.push('');
  if (u.disturbedRuns > 0) out.push(`${u.disturbedRuns} run${u.disturbedRuns > 1 ? 's were' : ' was'} left out: another tracer (another Sonde) had probes on libssl meanwhile.`, '');
  return out;
}

export function renderMarkdown(r: BenchResults): string {
  const out: string[] = [];
  out.push('# Sonde benchmark', '');
  out.push(`${r.date}, kernel ${r.machine}, ${r.secondsPerRun} s per run, median of ${r.repetitions}${r.quick ? ' (quick)' : ''}; ${r.minutes.toFixed(1)} minutes in all.`, '');
  if (r.only) out.push(`Only the ${r.only} section was run (\`--only=${r.only}\`).`, '');
  if (r.overhead.length > 0) renderOverhead(r, out);
  if (r.tls.length > 0 || r.uprobeHit) renderTls(r, out);
  if (r.grpc.length > 0) renderGrpc(r.grpc, out);
  if (r.capacity) renderCapacity(r.capacity, out);
  if (r.pipeline.length > 0) renderPipeline(r.pipeline, out);
  if (r.profile) renderProfile(r, r.profile, out);
  if (r.overhead.length > 0 && r.capacity) renderTargets(r, r.capacity, out);
  return out.join('\n');
}

function renderOverhead(r: BenchResults, out: string[]): void {
  out.push('## Overhead on the application', '');
  out.push(
    'Throughput ratio and latency change against the same server without Sonde, measured in the same run; "untraced" is Sonde running but not selecting that server. ' +
      'Latencies in µs (fixed rates: from when each request was due, or from when an idle worker woke to send it). "p99 noise" is how far the p99 without Sonde moved between repetitions: a p99 change smaller than it is not a measurement.',
    '',
  );
  out.push('| server | load | req/s without | p99 without | p99 noise | traced: throughput | traced: p50 Δ | traced: p99 Δ | untraced: throughput | untraced: p99 Δ |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const o of r.overhead) {
    const load = o.load === 'saturation' ? 'saturation (wrk)' : `${f0(o.load)} req/s`;
    out.push(
      `| ${o.server} | ${load} | ${f0(o.baseline.rps)} | ${f0(o.baseline.p99)} | ${r.repetitions > 1 ? `±${f0(o.baselineP99Spread / 2)}` : '-'} | ${pct(o.traced.rps / o.baseline.rps)} | ${signed(o.traced.p50 - o.baseline.p50)} | ${signed(o.traced.p99 - o.baseline.p99)} | ${pct(o.untraced.rps / o.baseline.rps)} | ${signed(o.untraced.p99 - o.baseline.p99)} |`,
    );
  }
  out.push('');

  out.push('## Cost of Sonde (tracing, plaintext HTTP/1.1)', '');
  out.push('| server | rate | Sonde CPU per 1,000 requests | share of one core | in-kernel BPF time per request | Sonde RSS |');
  out.push('|---|---|---|---|---|---|');
  for (const o of r.overhead) {
    if (!o.cost || o.load === 'saturation') continue;
    out.push(`| ${o.server} | ${f0(o.load)} req/s | ${f1(o.cost.cpuUsPerRequest)} ms | ${pct(o.cost.coreShare)} | ${f0(o.cost.bpfNsPerRequest)} ns | ${f0(o.cost.rssMiB)} MiB |`);
  }
  out.push('');
}

function renderTls(r: BenchResults, out: string[]): void {
  out.push('## HTTPS: the cost of the TLS uprobes', '');
  out.push(
    'Each server over TLS, without Sonde; with Sonde tracing it but its TLS probes off (`ebpf.tls: false`: only ciphertext, which is not parsed); and traced with the probes (plaintext, spans). ' +
      'The difference between the last two is what the uprobes on SSL_read / SSL_write cost the application.',
    '',
  );
  out.push('| server | load | req/s without | p99 without | probes off: throughput | probes off: p50 Δ | traced: throughput | traced: p50 Δ | traced: p99 Δ | Sonde CPU per request | BPF per request | spans per request |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const t of r.tls) {
    const load = t.load === 'saturation' ? 'saturation (wrk)' : `${f0(t.load)} req/s`;
    out.push(
      `| ${t.server} | ${load} | ${f0(t.baseline.rps)} | ${f0(t.baseline.p99)} | ${pct(t.probesOff.rps / t.baseline.rps)} | ${signed(t.probesOff.p50 - t.baseline.p50)} | ${pct(t.traced.rps / t.baseline.rps)} | ${signed(t.traced.p50 - t.baseline.p50)} | ${signed(t.traced.p99 - t.baseline.p99)} | ${t.cost ? `${f1(t.cost.cpuUsPerRequest)} µs` : '-'} | ${t.cost ? `${f0(t.cost.bpfNsPerRequest)} ns` : '-'} | ${t.cost ? t.cost.spansPerRequest.toFixed(2) : '-'} |`,
    );
  }
  out.push('');
  if (r.uprobeHit) out.push(...renderUprobeHit(r.uprobeHit));
}

function renderGrpc(rows: readonly GrpcRow[], out: string[]): void {
  out.push('## gRPC (HTTP/2): unary calls', '');
  out.push(
    "grpc-go's own client (test/peers/grpc/go/loadgen, 4 connections, 64 calls in flight) against each server, without Sonde and with Sonde tracing the server. " +
      'Latencies in µs (fixed rate: from when each call was due).',
    '',
  );
  out.push('| server | load | calls/s without | p99 without | traced: throughput | traced: p50 Δ | traced: p99 Δ | Sonde CPU per call | BPF per call | spans per call |');
  out.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const g of rows) {
    const load = g.load === 'saturation' ? 'saturation' : `${f0(g.load)} calls/s`;
    out.push(
      `| ${g.server} | ${load} | ${f0(g.baseline.rps)} | ${f0(g.baseline.p99)} | ${pct(g.traced.rps / g.baseline.rps)} | ${signed(g.traced.p50 - g.baseline.p50)} | ${signed(g.traced.p99 - g.baseline.p99)} | ${g.cost ? `${f1(g.cost.cpuUsPerRequest)} µs` : '-'} | ${g.cost ? `${f0(g.cost.bpfNsPerRequest)} ns` : '-'} | ${g.cost ? g.cost.spansPerRequest.toFixed(2) : '-'} |`,
    );
  }
  out.push('');
}

function renderCapacity(capacity: NonNullable<BenchResults['capacity']>, out: string[]): void {
  out.push('## Capacity (Go net/http server, traced)', '');
  out.push('| offered req/s | achieved req/s | requests | spans | records lost | parse errors | Sonde RSS |');
  out.push('|---|---|---|---|---|---|---|');
  for (const c of capacity.rows) {
    out.push(`| ${f0(c.rate)} | ${f0(c.achieved)} | ${f0(c.requests)} | ${f0(c.spans)} | ${f0(c.lost)} | ${f0(c.parseErrors)} | ${f0(c.rssMiB)} MiB |`);
  }
  const lossless = capacity.rows.filter((c) => c.lost === 0 && c.spans >= c.requests && c.achieved >= 0.97 * c.rate);
  const best = lossless.length ? Math.max(...lossless.map((c) => c.rate)) : 0;
  const ov = capacity.overload;
  out.push(
    '',
    `Highest offered rate with every request a span and nothing lost: **${f0(best)} req/s**. Overload at ${f0(ov.rate)} req/s: ${f0(ov.report.lostDataRecords + ov.report.lostControlRecords)} records lost and counted, exit code ${ov.exitCode}, RSS per second ${ov.rssMiB.map(f0).join(', ')} MiB.`,
    '',
  );
}

function renderPipeline(pipeline: readonly PipelineRow[], out: string[]): void {
  out.push('## Pipeline alone (a recorded stream replayed: drain → parse → span → export)', '');
  out.push('| stage | requests recorded | records | spans | time | records/s |');
  out.push('|---|---|---|---|---|---|');
  for (const p of pipeline) out.push(`| ${p.label} | ${f0(p.requests)} | ${f0(p.records)} | ${f0(p.spans)} | ${f0(p.ms)} ms | ${f0(p.recordsPerSecond)} |`);
  out.push('');
}

function renderProfile(r: BenchResults, p: Profiled, out: string[]): void {
  const unprofiled = r.overhead.find((o) => o.server === 'go net/http' && o.load === p.rate)?.cost?.cpuUsPerRequest ?? NaN;
  const otherThreads = Math.max(0, unprofiled - p.mainThreadUsPerRequest);
  out.push(`## Where Sonde's CPU goes (Go net/http, traced, ${f0(p.rate)} req/s, V8 sampling profiler)`, '');
  out.push(
    `Unprofiled, Sonde used ${f1(unprofiled)} µs of CPU per request at this rate (table above); in a run under the profiler, its main (JavaScript) ` +
      `thread was busy ${f1(p.mainThreadUsPerRequest)} µs per request. The main thread's time by part, builtins charged to the code that called them; ` +
      `"other threads" (V8's parallel garbage collector and compiler, libuv) is the unprofiled total less the main thread, since the profiler's own thread would count there:`,
    '',
  );
  out.push('| part | share of the main thread | µs per request |');
  out.push('|---|---|---|');
  for (const part of p.parts) out.push(`| ${part.part} | ${pct(part.share)} | ${f1(part.share * p.mainThreadUsPerRequest)} |`);
  out.push(`| other threads | | ${f1(otherThreads)} |`);
  out.push('');
}

function renderTargets(r: BenchResults, capacity: NonNullable<BenchResults['capacity']>, out: string[]): void {
  out.push('## Targets', '');
  const at10k = r.overhead.filter((o) => o.load === 10000 && o.cost);
  const sat = r.overhead.filter((o) => o.load === 'saturation');
  const worstCpu = Math.max(...at10k.map((o) => o.cost!.cpuUsPerRequest));
  const worstRss = Math.max(...at10k.map((o) => o.cost!.rssMiB));
  const worstTput = Math.min(...sat.map((o) => o.traced.rps / o.baseline.rps));
  const worstP99 = Math.max(...at10k.map((o) => o.traced.p99 - o.baseline.p99));
  const zeroLoss10k = capacity.rows.find((c) => c.rate === 10000);
  out.push('| target | measured | met |');
  out.push('|---|---|---|');
  out.push(`| Sonde CPU < 10 µs per request at 10k req/s | worst ${f1(worstCpu)} µs | ${worstCpu < 10 ? 'yes' : `no: ${f1(worstCpu - 10)} µs over (${pct(worstCpu / 10 - 1)})`} |`);
  out.push(`| Sonde RSS < 150 MB | worst ${f0(worstRss)} MiB (${f0(worstRss * 1.048576)} MB) | ${worstRss * 1.048576 < 150 ? 'yes' : `no: ${f0(worstRss * 1.048576 - 150)} MB over`} |`);
  out.push(`| traced app keeps ≥ 97 % of its saturated throughput | worst ${pct(worstTput)} | ${worstTput >= 0.97 ? 'yes' : `no: ${f1(100 * (0.97 - worstTput))} points short`} |`);
  const worstP99Row = at10k.find((o) => o.traced.p99 - o.baseline.p99 === worstP99);
  const noise = worstP99Row && r.repetitions > 1 ? ` (noise ±${f0(worstP99Row.baselineP99Spread / 2)} µs)` : '';
  out.push(`| p99 rises < 50 µs at 10k req/s | worst ${signed(worstP99)} µs${noise} | ${worstP99 < 50 ? 'yes' : `no: ${f0(worstP99 - 50)} µs over`} |`);
  out.push(`| zero loss at 10k req/s | ${zeroLoss10k ? `${f0(zeroLoss10k.lost)} lost, ${f0(zeroLoss10k.spans)} spans for ${f0(zeroLoss10k.requests)} requests` : 'not run'} | ${zeroLoss10k && zeroLoss10k.lost === 0 && zeroLoss10k.spans >= zeroLoss10k.requests ? 'yes' : 'no'} |`);
  out.push('');
}
