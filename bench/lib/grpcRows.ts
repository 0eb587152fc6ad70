/**
 * gRPC rows of `npm run bench`: unary calls from grpc-go's own client
 * (test/peers/grpc/go/loadgen) to a grpc-go and a grpc-js server, without
 * Sonde and with Sonde tracing the server, at saturation and at a fixed
 * rate; Sonde's CPU and in-kernel time per call, and spans per call.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { grpcPeerPaths, startGrpcServer, type GrpcKind } from '../../test/helpers/grpc.js';
import type { LoadResult } from './load.js';
import type { GrpcRow } from './report.js';
import { sideBySideRows, type ConditionRun } from './sideBySide.js';
import { BenchSonde, bpfRunNs } from './sondeRun.js';

const exec = promisify(execFile);

export const GRPC_RATE = 5000;

export interface GrpcBenchOptions {
  readonly seconds: number;
  readonly repetitions: number;
  readonly sinkPort: number;
  readonly log: (msg: string) => void;
}

/** The load generator: closed loop (rate 0) or calls due at a fixed rate. */
async function grpcLoad(loadgen: string, target: string, rate: number, seconds: number): Promise<LoadResult> {
  const { stdout } = await exec(loadgen, ['-target', target, '-rate', String(rate), '-duration', `${seconds}s`, '-conns', '4', '-workers', '64']);
  const s = JSON.parse(stdout) as { achievedRate: number; ok: number; errors: number; p50us: number; p99us: number };
  return { rps: s.achievedRate, requests: s.ok, errors: s.errors, p50us: s.p50us, p99us: s.p99us };
}

export async function grpcOverhead(opts: GrpcBenchOptions): Promise<GrpcRow[]> {
  const { goLoadgen } = await grpcPeerPaths();
  const rows: GrpcRow[] = [];
  const servers: Array<{ name: string; kind: GrpcKind }> = [
    { name: 'grpc-go', kind: 'go' },
    { name: 'grpc-js (node)', kind: 'node' },
  ];
  for (const s of servers) {
    const peer = await startGrpcServer(s.kind, 0);
    const target = `127.0.0.1:${peer.port}`;
    const runs: Record<'baseline' | 'traced', ConditionRun[]> = { baseline: [], traced: [] };
    try {
      for (let rep = 0; rep < opts.repetitions; rep++) {
        for (const cond of ['baseline', 'traced'] as const) {
          opts.log(`${s.name}: ${cond} (${rep + 1}/${opts.repetitions})`);
          const sonde = cond === 'traced' ? await BenchSonde.start(['--open-port', String(peer.port)], opts.sinkPort) : null;
          const sat = await grpcLoad(goLoadgen, target, 0, opts.seconds);
          const cpu0 = sonde?.cpuMicros() ?? 0;
          const bpf0 = sonde ? bpfRunNs() : 0;
          const fixed = await grpcLoad(goLoadgen, target, GRPC_RATE, opts.seconds);
          const cpuUs = sonde ? sonde.cpuMicros() - cpu0 : 0;
          const bpfNs = sonde ? bpfRunNs() - bpf0 : 0;
          const report = sonde ? (await sonde.stop()).report : null;
          runs[cond].push({ sat, fixed, cpuUs, bpfNs, spans: report?.spans ?? 0 });
        }
      }
    } finally {
      await peer.stop();
    }
    // The loadgen's warm-up call on each of its 4 connections, in both loads, counts too.
    for (const row of sideBySideRows(runs, GRPC_RATE, 8)) {
      rows.push({ server: s.name, load: row.load, baseline: row.latency.baseline, traced: row.latency.traced, cost: row.cost });
    }
  }
  return rows;
}
