/**
 * Kernel timestamps (bpf_ktime_get_ns: CLOCK_MONOTONIC) to wall-clock
 * time (ARCHITECTURE decision 7). The offset between the two clocks is
 * sampled once per batch, so durations are exactly what the kernel saw
 * and only the placement on the wall clock follows NTP adjustments. The
 * sampled offset jitters by a microsecond or so between two reads; it is
 * taken up only when it moved by more than MAX_JITTER_NS, so spans of
 * one exchange, converted in different batches, keep their true order.
 */
import type { HrTime } from '@opentelemetry/api';
import { libcCalls } from './libbpf.js';

const CLOCK_REALTIME = 0;
const CLOCK_MONOTONIC = 1;
const NS = 1e9;
const MAX_JITTER_NS = 50_000;

export class KernelClock {
  private readonly ts = new BigInt64Array(2);
  /** wall - monotonic, split to stay exact in doubles. */
  private offsetSec = 0;
  private offsetNs = 0;
  private synced = false;

  constructor() {
    this.sync();
  }

  /** Re-sample the offset between the two clocks. */
  sync(): void {
    libcCalls.clockGettime(CLOCK_MONOTONIC, this.ts);
    const monoSec = Number(this.ts[0]);
    const monoNs = Number(this.ts[1]);
    libcCalls.clockGettime(CLOCK_REALTIME, this.ts);
    let sec = Number(this.ts[0]) - monoSec;
    let ns = Number(this.ts[1]) - monoNs;
    if (ns < 0) {
      ns += NS;
      sec -= 1;
    }
    const moved = Math.abs((sec - this.offsetSec) * NS + (ns - this.offsetNs));
    if (this.synced && moved <= MAX_JITTER_NS) return;
    this.offsetSec = sec;
    this.offsetNs = ns;
    this.synced = true;
  }

  /** wall - monotonic, as [seconds, nanoseconds]. */
  offset(): readonly [number, number] {
    return [this.offsetSec, this.offsetNs];
  }

  /** Kernel monotonic ns now. */
  now(): number {
    libcCalls.clockGettime(CLOCK_MONOTONIC, this.ts);
    return Number(this.ts[0]) * NS + Number(this.ts[1]);
  }

  /** A kernel monotonic timestamp (ns) as OpenTelemetry wall-clock time. */
  toHrTime(kernelNs: number): HrTime {
    return shiftedHrTime(kernelNs, this.offsetSec, this.offsetNs);
  }
}

/** kernelNs + offset, exact in doubles: seconds and nanoseconds kept apart. */
export function shiftedHrTime(kernelNs: number, offsetSec: number, offsetNs: number): HrTime {
  const s = Math.floor(kernelNs / NS);
  let sec = offsetSec + s;
  let ns = offsetNs + (kernelNs - s * NS);
  if (ns >= NS) {
    ns -= NS;
    sec += 1;
  }
  return [sec, Math.round(ns)];
}
