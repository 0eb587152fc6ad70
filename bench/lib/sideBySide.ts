/**
 * Rows of a side-by-side section (HTTPS, gRPC): each condition run against
 * one server at saturation and at one fixed rate, repeated; a row per load
 * with each condition's median latency, and Sonde's cost per request while
 * traced at the fixed rate.
 */
import type { LoadResult } from './load.js';
import type { Latency } from './report.js';

/** One condition's run: saturation, then the fixed rate, and what Sonde cost during the latter. */
export interface ConditionRun {
  readonly sat: LoadResult;
  readonly fixed: LoadResult;
  readonly cpuUs: number;
  readonly bpfNs: number;
  /** Spans Sonde made in the whole run (saturation included). */
  readonly spans: number;
}

export interface SideBySideRow<C extends string> {
  readonly load: 'saturation' | number;
  readonly latency: Record<C, Latency>;
  readonly cost: { cpuUsPerRequest: number; bpfNsPerRequest: number; spansPerRequest: number } | null;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The saturation row and the fixed-rate row. `extraRequests`: requests a
 * run makes besides the two loads (a load generator's warm-up calls), so
 * spans per request counts them too.
 */
export function sideBySideRows<C extends string>(runs: Record<C, ConditionRun[]>, rate: number, extraRequests = 0): Array<SideBySideRow<C>> {
  const conditions = Object.keys(runs) as C[];
  const traced = (runs as Record<string, ConditionRun[]>)['traced'] ?? [];
  const loads = [['saturation', (m: ConditionRun) => m.sat], [rate, (m: ConditionRun) => m.fixed]] as const;
  return loads.map(([load, pick]) => {
    const latency = Object.fromEntries(
      conditions.map((c) => [c, { rps: median(runs[c].map((m) => pick(m).rps)), p50: median(runs[c].map((m) => pick(m).p50us)), p99: median(runs[c].map((m) => pick(m).p99us)) }]),
    ) as Record<C, Latency>;
    const cost =
      load === 'saturation'
        ? null
        : {
            cpuUsPerRequest: median(traced.map((m) => m.cpuUs / Math.max(1, m.fixed.requests))),
            bpfNsPerRequest: median(traced.map((m) => m.bpfNs / Math.max(1, m.fixed.requests))),
            spansPerRequest: median(traced.map((m) => m.spans / Math.max(1, m.fixed.requests + m.sat.requests + extraRequests))),
          };
    return { load, latency, cost };
  });
}
