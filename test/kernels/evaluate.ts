/**
 * Judges one case of the kernel matrix from the records the case script
 * (test/kernels/guest/case.mjs) wrote: the same span checks as the host's
 * integration tests (test/integration/http1-servers.test.ts), plus the
 * capture mode Sonde chose and the programs it loaded. Pure: records in,
 * an outcome out.
 */
import type { DoctorReport } from '../../collector/cli/doctor.js';
import type { PrintedSpan } from '../helpers/sonde.js';
import type { Expectation, MatrixCase } from './cases.js';

interface CurlResult {
  url: string;
  path: string;
  method: string;
  status: number;
  localPort: number;
  localIp: string;
  timeTotal: number;
  sizeDownload: number;
  sizeUpload: number;
}

interface CurlRecord {
  urls: string[];
  code: number;
  stderr: string;
  results: CurlResult[];
}

interface SondeLog {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** What a case script wrote, sorted by kind. */
export interface CaseRecords {
  kernel: string | null;
  doctor: { code: number; report: DoctorReport | null; stdout?: string; stderr: string } | null;
  curls: CurlRecord[];
  spans: PrintedSpan[];
  logs: SondeLog[];
  /** sonde stderr lines that were not JSON. */
  rawLogs: string[];
  errors: string[];
  done: { sondeExit: number | string | null; elapsedMs: number } | null;
  /** Lines that did not parse (a guest cut off mid-line). */
  garbage: number;
}

export function parseRecords(text: string): CaseRecords {
  const r: CaseRecords = { kernel: null, doctor: null, curls: [], spans: [], logs: [], rawLogs: [], errors: [], done: null, garbage: 0 };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r/g, '').trim();
    if (!line) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line) as Record<string, unknown>;
    } catch {
      r.garbage++;
      continue;
    }
    switch (rec.type) {
      case 'hello':
        r.kernel = String(rec.kernel);
        break;
      case 'doctor':
        r.doctor = rec as unknown as CaseRecords['doctor'];
        break;
      case 'curl':
        r.curls.push(rec as unknown as CurlRecord);
        break;
      case 'span':
        r.spans.push(rec.span as PrintedSpan);
        break;
      case 'sonde-log': {
        const l = String(rec.line);
        try {
          r.logs.push(JSON.parse(l) as SondeLog);
        } catch {
          r.rawLogs.push(l);
        }
        break;
      }
      case 'error':
        r.errors.push(String(rec.message));
        break;
      case 'done':
        r.done = rec as unknown as CaseRecords['done'];
        break;
    }
  }
  return r;
}

export interface CaseOutcome {
  readonly id: string;
  readonly kernel: string;
  readonly requested: string;
  /** The doctor's verdict: ready or not, and the mode it would choose. */
  readonly doctor: string;
  /** mode (and socket lookup) from "sonde capturing", or what stopped it. */
  readonly capture: string;
  readonly programs: number | null;
  readonly spansExpected: number;
  readonly spansReceived: number;
  readonly seconds: number;
  readonly failures: string[];
  /** The program the kernel refused and its verifier log, if one was. */
  readonly verifier: { program: string; log: string } | null;
  readonly counters: Record<string, number> | null;
  readonly pass: boolean;
}

const LOOKUP_OF: Record<string, Expectation['socketLookup']> = {
  'sock-length-tracepoints': 'sock-length-tracepoints',
  'fd-table': 'fd-table',
};

/** What Sonde must choose, when the case leaves it to the kernel's doctor verdict. */
function expectation(c: MatrixCase, report: DoctorReport | null): Expectation | null {
  if (c.expect !== 'doctor') return c.expect;
  if (!report || 'error' in report.captureMode) return null;
  if (c.mode === 'auto') return { mode: report.captureMode.mode, socketLookup: report.captureMode.socketLookup };
  if (c.mode === 'tracepoint') {
    const lookup =
      c.socketLookup && c.socketLookup !== 'auto'
        ? c.socketLookup
        : report.features['sock_*_length tracepoints']?.ok
          ? 'sock-length-tracepoints'
          : 'fd-table';
    return { mode: 'tracepoint', socketLookup: LOOKUP_OF[lookup] ?? null };
  }
  return { mode: c.mode, socketLookup: null };
}

const durationNs = (s: PrintedSpan): number => Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));

/** The span checks of the host's integration tests, for one request. */
function checkSpan(span: PrintedSpan, want: CurlResult): string[] {
  const f: string[] = [];
  const at = `${want.method} ${want.path}`;
  const eq = (what: string, got: unknown, exp: unknown): void => {
    if (got !== exp) f.push(`${at}: ${what} is ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`);
  };
  eq('span name', span.name, want.method);
  eq('kind', span.kind, 'SERVER');
  eq('http.request.method', span.attributes['http.request.method'], want.method);
  eq('url.path', span.attributes['url.path'], want.path);
  eq('url.scheme', span.attributes['url.scheme'], 'http');
  eq('http.response.status_code', span.attributes['http.response.status_code'], want.status);
  eq('network.peer.address', span.attributes['network.peer.address'], want.localIp);
  eq('network.peer.port', span.attributes['network.peer.port'], want.localPort);
  eq('status', span.status.code, want.status >= 500 ? 'ERROR' : 'UNSET');
  const ua = span.attributes['user_agent.original'];
  if (typeof ua !== 'string' || !ua.startsWith('curl/')) f.push(`${at}: user_agent.original is ${JSON.stringify(ua)}`);
  const d = durationNs(span);
  if (!(d > 0 && d <= want.timeTotal * 1e9)) {
    f.push(`${at}: duration ${(d / 1e6).toFixed(3)} ms is not within (0, ${(want.timeTotal * 1e3).toFixed(3)} ms] that curl measured`);
  }
  if (want.path === '/big') eq('http.response.body.size', span.attributes['http.response.body.size'], want.sizeDownload);
  if (want.method === 'POST') eq('http.request.body.size', span.attributes['http.request.body.size'], want.sizeUpload);
  return f;
}

export function evaluate(c: MatrixCase, r: CaseRecords, extra: { timedOut: boolean; seconds: number; consoleTail: string }): CaseOutcome {
  const failures: string[] = [];
  const report = r.doctor?.report ?? null;

  let doctor = 'no report';
  if (report) {
    doctor = 'error' in report.captureMode ? `not ready: ${report.captureMode.error}` : `${report.ready ? 'ready' : 'not ready'}, ${report.captureMode.mode}`;
    if (!report.ready) failures.push(`sonde doctor: not ready (${JSON.stringify(report.captureMode)}; missing capabilities: ${report.capabilities.missing.join(', ') || 'none'})`);
  } else if (r.doctor) {
    failures.push(`sonde doctor --json exited ${r.doctor.code} without a report: ${(r.doctor.stderr || r.doctor.stdout || '').slice(0, 2000)}`);
  } else {
    failures.push('sonde doctor did not run');
  }

  const want = expectation(c, report);
  const capturing = r.logs.find((l) => l.msg === 'sonde capturing');
  const stopped = r.logs.find((l) => l.msg === 'sonde stopped');
  const refused = r.logs.find((l) => typeof l.verifierLog === 'string' || (l.level >= 50 && typeof l.program === 'string'));
  const verifier = refused ? { program: String(refused.program), log: String(refused.verifierLog ?? '') } : null;

  let capture: string;
  if (capturing) {
    capture = `${String(capturing.mode)}${capturing.socketLookup ? ` (${String(capturing.socketLookup)})` : ''}`;
    if (want && (capturing.mode !== want.mode || (capturing.socketLookup ?? null) !== want.socketLookup)) {
      failures.push(`sonde chose ${capture}, expected ${want.mode}${want.socketLookup ? ` (${want.socketLookup})` : ''}`);
    }
    if (!want) failures.push('no expectation: the doctor gave no capture mode');
  } else {
    const err = r.logs.find((l) => l.level >= 50);
    capture = err ? `refused: ${err.msg}` : 'did not start';
    failures.push(`sonde never started capturing${err ? `: ${err.msg}${verifier ? ` (program ${verifier.program})` : ''}` : ''}`);
  }

  // The requests the client made, and the spans Sonde printed for them.
  const requests = r.curls.flatMap((x) => x.results);
  for (const x of r.curls) {
    if (x.code !== 0) failures.push(`curl ${x.urls.join(' ')} exited ${x.code}: ${x.stderr.trim()}`);
  }
  const serverSpans = r.spans.filter((s) => s.kind === 'SERVER');
  const ports = [...new Set(requests.map((q) => q.localPort))];
  for (const port of ports) {
    const asked = requests.filter((q) => q.localPort === port);
    const got = serverSpans
      .filter((s) => s.attributes['client.port'] === port)
      .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
    if (got.length !== asked.length) {
      failures.push(`connection from port ${port} (${asked.map((q) => `${q.method} ${q.path}`).join(', ')}): ${got.length} server spans, expected ${asked.length}`);
    }
    for (let i = 0; i < Math.min(got.length, asked.length); i++) failures.push(...checkSpan(got[i]!, asked[i]!));
  }
  const strays = serverSpans.filter((s) => !ports.includes(Number(s.attributes['client.port'])));
  if (strays.length > 0) failures.push(`${strays.length} server spans for no request of this case`);

  const spansExpected = 7;
  if (requests.length !== spansExpected && capturing) failures.push(`curl made ${requests.length} requests, expected ${spansExpected}`);
  if (!r.done) failures.push(extra.timedOut ? 'the case timed out (qemu killed)' : 'the case script did not finish');
  else if (r.done.sondeExit !== 0 && capturing) failures.push(`sonde exited ${String(r.done.sondeExit)} after SIGINT`);
  for (const e of r.errors) failures.push(`case: ${e}`);
  if (!r.done && extra.consoleTail) failures.push(`console tail:\n${extra.consoleTail}`);

  const kernel = (stopped?.kernel ?? null) as Record<string, number> | null;
  if (kernel && (kernel.lostDataRecords ?? 0) > 0) failures.push(`the kernel lost ${kernel.lostDataRecords} data records`);

  return {
    id: c.id,
    kernel: r.kernel ?? c.kernel,
    requested: `${c.mode}${c.socketLookup ? ` --socket-lookup ${c.socketLookup}` : ''}`,
    doctor,
    capture,
    programs: capturing ? Number(capturing.programs) : null,
    spansExpected,
    spansReceived: serverSpans.length,
    seconds: extra.seconds,
    failures,
    verifier,
    counters: kernel,
    pass: failures.length === 0,
  };
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split('\n');
  return (all.length > lines ? [`... (${all.length - lines} lines before)`, ...all.slice(-lines)] : all).join('\n');
}

/** The matrix as a Markdown table, then the failures with their verifier logs. */
export function formatReport(outcomes: readonly CaseOutcome[], header: string): string {
  const rows = [
    '| kernel | mode requested | doctor | capture | programs | spans expected / received | time | result |',
    '|---|---|---|---|---|---|---|---|',
    ...outcomes.map(
      (o) =>
        `| ${o.kernel} | ${o.requested} | ${o.doctor} | ${o.capture} | ${o.programs ?? '-'} | ${o.spansExpected} / ${o.spansReceived} | ${o.seconds.toFixed(0)} s | ${o.pass ? 'pass' : '**FAIL**'} |`,
    ),
  ];
  const details = outcomes
    .filter((o) => !o.pass)
    .map((o) => {
      const lines = [`### ${o.id}: FAIL`, '', ...o.failures.map((f) => `- ${f.replace(/\n/g, '\n  ')}`)];
      if (o.verifier) lines.push('', `Verifier log of \`${o.verifier.program}\` (its end):`, '', '```', tail(o.verifier.log, 120) || '(empty)', '```');
      return lines.join('\n');
    });
  return [header, '', ...rows, '', ...details].join('\n').trimEnd() + '\n';
}
