/**
 * Batching to a backend that stops answering. The exporter here is a fake
 * that holds its callbacks: a backend that accepts connections and never
 * replies is hard to produce on demand, and this is the fault under test.
 * test/integration/otlp.test.ts covers a real backend that is down.
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import type { EncodedBatch } from '../../collector/export/otlpEncoder.js';
import { OtlpSpanQueue, type BatchExporter } from '../../collector/export/OtlpSpanQueue.js';
import { SondeSpan } from '../../collector/spans/SondeSpan.js';

class HeldExporter implements BatchExporter {
  readonly calls: Array<{ batch: EncodedBatch; done: (r: ExportResult) => void }> = [];
  export(batch: EncodedBatch, done: (r: ExportResult) => void): void {
    this.calls.push({ batch, done });
  }
  async shutdown(): Promise<void> {}
}

const resource = resourceFromAttributes({ 'service.name': 'x' });
const span = (): ReadableSpan =>
  new SondeSpan('GET', SpanKind.SERVER, new Uint8Array(24).fill(7), 0, undefined, [1, 0], [2, 0], { code: SpanStatusCode.UNSET }, ['a'], [1], resource, { name: 'sonde' });
const spans = (n: number): ReadableSpan[] => Array.from({ length: n }, span);
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('OtlpSpanQueue', () => {
  it('sends full batches at once, one export in flight', () => {
    const ex = new HeldExporter();
    const q = new OtlpSpanQueue(ex, { maxQueueSize: 100, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    q.emit(spans(25));
    expect(ex.calls.map((c) => c.batch.count)).toEqual([10]);
    expect(q.queued).toBe(15);
  });

  it('drops past the queue limit and counts every span dropped or failed', async () => {
    const ex = new HeldExporter();
    const q = new OtlpSpanQueue(ex, { maxQueueSize: 20, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    q.emit(spans(10)); // sent, held
    q.emit(spans(30)); // 20 fit in the queue
    expect(q.stats.dropped).toBe(10);
    expect(q.queued).toBe(20);
    ex.calls[0]!.done({ code: ExportResultCode.FAILED, error: new Error('backend hung up') });
    await settle();
    expect(q.stats.failed).toBe(10);
    expect(q.stats.lastError).toBe('backend hung up');
    expect(ex.calls).toHaveLength(2);
    ex.calls[1]!.done({ code: ExportResultCode.SUCCESS });
    await settle();
    ex.calls[2]!.done({ code: ExportResultCode.SUCCESS });
    await q.flush();
    expect(q.stats).toMatchObject({ exported: 20, failed: 10, dropped: 10 });
  });

  it('flush sends what waits for the schedule delay', async () => {
    const ex = new HeldExporter();
    const q = new OtlpSpanQueue(ex, { maxQueueSize: 100, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    q.emit(spans(3));
    expect(ex.calls).toHaveLength(0);
    const flushed = q.flush();
    expect(ex.calls.map((c) => c.batch.count)).toEqual([3]);
    ex.calls[0]!.done({ code: ExportResultCode.SUCCESS });
    await flushed;
    expect(q.stats.exported).toBe(3);
  });
});
