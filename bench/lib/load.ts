/**
 * Load generators: wrk (Debian) at saturation, and our constant-rate
 * generator (bench/peers/loadgen, wrk2-style: latency from when each
 * request was due) at fixed rates.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface LoadResult {
  /** Requests per second completed. */
  readonly rps: number;
  readonly requests: number;
  readonly errors: number;
  readonly p50us: number;
  readonly p99us: number;
}

function micros(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === 's' ? n * 1e6 : m[2] === 'ms' ? n * 1e3 : n;
}

/** wrk, closed loop: as fast as the server answers. */
export async function saturate(url: string, seconds: number, conns = 32): Promise<LoadResult> {
  const { stdout } = await exec('wrk', ['-t1', `-c${conns}`, `-d${seconds}s`, '--latency', url], { maxBuffer: 1 << 20 });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]);
  const requests = Number(/(\d+) requests in/.exec(stdout)?.[1]);
  const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0) + Number(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
  const p = (q: string): number => micros(new RegExp(`^\\s+${q}%\\s+(\\S+)$`, 'm').exec(stdout)?.[1] ?? '');
  return { rps, requests, errors, p50us: p('50'), p99us: p('99') };
}

/** The constant-rate generator. */
export async function fixedRate(loadgen: string, url: string, rate: number, seconds: number, conns = 32): Promise<LoadResult> {
  // https: the loopback servers' certificate is self-signed.
  const tls = url.startsWith('https:') ? ['-insecure'] : [];
  const { stdout } = await exec(loadgen, ['-url', url, '-rate', String(rate), '-duration', `${seconds}s`, '-conns', String(conns), ...tls]);
  const s = JSON.parse(stdout) as { achievedRate: number; ok: number; errors: number; p50us: number; p99us: number };
  return { rps: s.achievedRate, requests: s.ok, errors: s.errors, p50us: s.p50us, p99us: s.p99us };
}
