/**
 * One Sonde for a benchmark run: started with the given selection,
 * exporting OTLP to the discarding sink, its CPU time and memory sampled,
 * its final report read when it stops. Kernel-side time comes from the
 * BPF programs' own run-time statistics (kernel.bpf_stats_enabled).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { startSonde, type SondeProcess } from '../../test/helpers/sonde.js';
import { cpuMicros, rssMiB } from './proc.js';

export interface SondeReport {
  readonly spans: number;
  readonly lostDataRecords: number;
  readonly lostControlRecords: number;
  readonly dataRecords: number;
  readonly parseErrors: number;
  readonly exported: number;
  readonly exportDropped: number;
}

export class BenchSonde {
  private constructor(private readonly proc: SondeProcess) {}

  static async start(args: string[], sinkPort: number, env: NodeJS.ProcessEnv = {}): Promise<BenchSonde> {
    const proc = startSonde(['--print', 'disabled', ...args], {
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sinkPort}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_BSP_SCHEDULE_DELAY: '500',
      OTEL_BSP_MAX_QUEUE_SIZE: '65536',
      OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '2048',
    });
    await proc.ready(30_000);
    return new BenchSonde(proc);
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  cpuMicros(): number {
    return cpuMicros(this.pid);
  }

  rssMiB(): number {
    return rssMiB(this.pid);
  }

  async stop(): Promise<{ exitCode: number; report: SondeReport }> {
    const exitCode = await this.proc.stop('SIGINT', 60_000);
    const line = this.proc.logs.find((l) => l.msg === 'sonde stopped');
    const kernel = (line?.['kernel'] ?? {}) as Record<string, number>;
    const exports = (line?.['export'] ?? []) as Array<{ exported: number; dropped: number }>;
    const errors = Object.values((line?.['parseErrors'] ?? {}) as Record<string, number>).reduce((a, b) => a + b, 0);
    return {
      exitCode,
      report: {
        spans: Number(line?.['spans'] ?? 0),
        lostDataRecords: kernel['lostDataRecords'] ?? 0,
        lostControlRecords: kernel['lostControlRecords'] ?? 0,
        dataRecords: kernel['dataRecords'] ?? 0,
        parseErrors: errors,
        exported: exports.reduce((a, e) => a + e.exported, 0),
        exportDropped: exports.reduce((a, e) => a + e.dropped, 0),
      },
    };
  }
}

const BPF_STATS = '/proc/sys/kernel/bpf_stats_enabled';

/** Turn on per-program run-time accounting; returns how to put it back. */
export function enableBpfStats(): () => void {
  const before = readFileSync(BPF_STATS, 'utf8').trim();
  writeFileSync(BPF_STATS, '1');
  return () => writeFileSync(BPF_STATS, before);
}

/** Nanoseconds spent so far in Sonde's BPF programs (all loaded Sondes). */
export function bpfRunNs(): number {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8', maxBuffer: 64 << 20 })) as Array<{ name?: string; run_time_ns?: number }>;
  return progs.filter((p) => p.name?.startsWith('sonde_')).reduce((a, p) => a + (p.run_time_ns ?? 0), 0);
}
