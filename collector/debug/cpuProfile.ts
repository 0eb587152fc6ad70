/**
 * SONDE_CPU_PROFILE=file.cpuprofile: a V8 CPU profile of `sonde run`,
 * from capture start to stop (open it in Chrome DevTools or speedscope).
 * Started after the BPF objects are loaded: node --cpu-prof would start at
 * once, and its profiling signals interrupt the kernel verifier (EAGAIN).
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export interface CpuProfiler {
  stop(): Promise<void>;
}

export async function startCpuProfile(file: string): Promise<CpuProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
