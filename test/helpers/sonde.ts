/**
 * Runs the real `./sonde run` as a child process with the JSON printer,
 * and collects the spans it prints and the logs it writes.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { spawnTied } from './tied.js';
import { waitFor } from './wait.js';

/** The repository root, whether this runs from test/ or compiled into dist/ (the benchmarks). */
export { ROOT } from '../../collector/version.js';
import { ROOT } from '../../collector/version.js';

export interface PrintedSpan {
  name: string;
  kind: 'SERVER' | 'CLIENT' | 'INTERNAL';
  traceId: string;
  spanId: string;
  parentSpanId: string;
  /** W3C tracestate, when the request carried one. */
  traceState?: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code: 'UNSET' | 'OK' | 'ERROR'; message?: string };
  attributes: Record<string, string | number | boolean>;
  resource: Record<string, string | number | boolean>;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function durationNs(s: PrintedSpan): number {
  return Number(BigInt(s.endTimeUnixNano) - BigInt(s.startTimeUnixNano));
}

export class SondeProcess {
  readonly spans: PrintedSpan[] = [];
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  exitCode: number | null = null;
  private readonly exited: Promise<number>;

  /** `readSpans: false` leaves stdout unread, as a reader that stopped reading would. */
  constructor(
    readonly child: ChildProcess,
    readSpans = true,
  ) {
    if (readSpans) {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (line.trim()) this.spans.push(JSON.parse(line) as PrintedSpan);
      });
    }
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.stderr.push(line);
      try {
        this.logs.push(JSON.parse(line) as LogLine);
      } catch {
        // not a log line (e.g. a config error message)
      }
    });
    this.exited = new Promise((resolve) => child.on('exit', (code, signal) => {
      this.exitCode = code ?? (signal ? 128 : -1);
      resolve(this.exitCode);
    }));
  }

  /** Resolves when capture has started; rejects if sonde exits first. */
  async ready(timeoutMs = 20_000): Promise<void> {
    await waitFor(() => {
      if (this.exitCode !== null) throw new Error(`sonde exited ${this.exitCode}:\n${this.stderr.join('\n')}`);
      return this.logs.find((l) => l.msg === 'sonde capturing');
    }, 'sonde to start capturing', timeoutMs);
  }

  spansWhere(pred: (s: PrintedSpan) => boolean): PrintedSpan[] {
    return this.spans.filter(pred);
  }

  /** Wait until `count` spans match, then a little longer to catch extras. */
  async waitForSpans(pred: (s: PrintedSpan) => boolean, count: number, timeoutMs = 10_000): Promise<PrintedSpan[]> {
    try {
      await waitFor(() => this.spansWhere(pred).length >= count, `${count} matching spans`, timeoutMs);
    } catch (e) {
      const recent = this.spans.slice(-5).map((s) => `${s.kind} ${s.name} ${String(s.attributes['url.path'] ?? s.attributes['url.full'])} ${String(s.attributes['http.response.status_code'])} client.port=${String(s.attributes['client.port'])}`);
      throw new Error(
        `${(e as Error).message}: have ${this.spansWhere(pred).length} of ${this.spans.length} spans; last spans:\n  ${recent.join('\n  ')}\nsonde stderr (last 10 lines):\n  ${this.stderr.slice(-10).join('\n  ')}`,
      );
    }
    return this.spansWhere(pred);
  }

  async stop(signal: NodeJS.Signals = 'SIGINT', timeoutMs = 15_000): Promise<number> {
    if (this.exitCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  wait(): Promise<number> {
    return this.exited;
  }
}

export function startSonde(args: string[], env: NodeJS.ProcessEnv = {}, opts: { readSpans?: boolean } = {}): SondeProcess {
  const child = spawnTied(
    join(ROOT, 'sonde'),
    ['run', '--print', 'json', ...args],
    { cwd: ROOT, env: { ...process.env, OTEL_EBPF_LOG_LEVEL: 'info', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    'SIGTERM',
  );
  return new SondeProcess(child, opts.readSpans ?? true);
}

/** Write a YAML config file for one test and return its path. */
export function configFile(yaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-config-'));
  const path = join(dir, 'sonde.yaml');
  writeFileSync(path, yaml);
  return path;
}
