/** CPU time and memory of a process, from /proc. */
import { readFileSync } from 'node:fs';

const TICK_US = 1e6 / 100; // USER_HZ is 100 on Linux

/** User + system CPU time of `pid` so far, in microseconds (10 ms resolution). */
export function cpuMicros(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

/** Resident set size of `pid`, in MiB. */
export function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

/** Samples RSS every `everyMs` until stopped; returns the samples. */
export function sampleRss(pid: number, everyMs = 500): { stop(): number[] } {
  const samples: number[] = [];
  const t = setInterval(() => {
    try {
      samples.push(rssMiB(pid));
    } catch {
      // gone
    }
  }, everyMs);
  return {
    stop: () => {
      clearInterval(t);
      return samples;
    },
  };
}
