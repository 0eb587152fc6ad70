/**
 * `sonde replay`: a recording through the same pipeline `run` uses, as
 * fast as it goes. No kernel is involved; the processes are the ones the
 * recording describes.
 */
import type { HrTime } from '@opentelemetry/api';
import type { Config } from '../../config/schema.js';
import { ProcessRegistry, type ProcSource } from '../discovery/ProcessRegistry.js';
import type { ProcessFacts } from '../discovery/procfs.js';
import { decodeEvent, EventType, type DecodeError, type KernelEvent } from '../ebpf/abi.js';
import { shiftedHrTime } from '../ebpf/KernelClock.js';
import type { SpanSink } from '../export/SpanSink.js';
import type { Logger } from '../log.js';
import { NO_KERNEL, Pipeline, type PipelineStats } from '../pipeline/Pipeline.js';
import { ItemKind, type RecordingItem } from './recording.js';

export interface ReplayResult {
  readonly stats: PipelineStats;
  /** Wall time from the first record to the last handed on (exports run meanwhile). */
  readonly handleMs: number;
}

/** Processes as the recording knew them. */
function recordedProcesses(facts: Map<number, ProcessFacts>): ProcSource {
  return {
    listPids: () => [],
    readProcess: (pid) => facts.get(pid) ?? null,
    portOwners: () => new Map(),
  };
}

/**
 * Hands each recorded batch to the pipeline, yielding to the event loop
 * between batches as the live ring buffer does, so exporters send while
 * the replay goes on.
 */
export async function replay(items: readonly RecordingItem[], config: Config, sinks: readonly SpanSink[], log: Logger): Promise<ReplayResult> {
  const facts = new Map<number, ProcessFacts>();
  let offset: readonly [number, number] = [0, 0];
  const time = { toHrTime: (ns: number): HrTime => shiftedHrTime(ns, offset[0], offset[1]) };
  // The processes the live run traced are those the recording has facts of.
  const traced = new Set<number>();
  for (const it of items) if (it.kind === ItemKind.Facts) traced.add(it.facts.pid);
  const registry = new ProcessRegistry({ instrument: [{ pids: traced }], exclude: [] }, -1, recordedProcesses(facts));
  const pipeline = new Pipeline({ config, registry, sinks, log, kernel: NO_KERNEL, time });

  let batch: Array<KernelEvent | DecodeError> = [];
  let lastTs = 0;
  const started = performance.now();
  for (const it of items) {
    switch (it.kind) {
      case ItemKind.Facts:
        facts.set(it.facts.pid, it.facts);
        break;
      case ItemKind.Clock:
        offset = it.offset;
        break;
      case ItemKind.Record: {
        const ev = decodeEvent(new DataView(it.bytes.buffer, it.bytes.byteOffset, it.bytes.byteLength), it.bytes, 0, it.bytes.length);
        if (ev.type !== 'invalid' && ev.type !== EventType.ConnState) lastTs = Math.max(lastTs, ev.ts);
        batch.push(ev);
        break;
      }
      case ItemKind.BatchEnd:
        pipeline.handle(batch);
        batch = [];
        await new Promise((r) => setImmediate(r));
        break;
    }
  }
  if (batch.length > 0) pipeline.handle(batch);
  pipeline.sweep(lastTs);
  return { stats: pipeline.stats, handleMs: performance.now() - started };
}
