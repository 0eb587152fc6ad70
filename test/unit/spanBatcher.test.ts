/**
 * Batching to a backend that stops answering. The exporter here is a fake
 * that holds its callbacks: a backend that accepts connections and never
 * replies is hard to produce on demand, and this is the fault under test.
 * test/integration/otlp.test.ts covers a real backend that is down.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { SpanBatcher } from '../../collector/export/SpanBatcher.js';

class HeldExporter implements SpanExporter {
  readonly calls: Array<{ spans: ReadableSpan[]; done: (r: ExportResult) => void }> = [];
  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.calls.push({ spans, done });
  }
  async shutdown(): Promise<void> {}
}

const span = {} as ReadableSpan;
const spans = (n: number): ReadableSpan[] => Array.from({ length: n }, () => span);

describe('SpanBatcher', () => {
  it('sends full batches at once, one export in flight', () => {
    const ex = new HeldExporter();
    const b = new SpanBatcher(ex, { maxQueueSize: 100, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    b.emit(spans(25));
    expect(ex.calls.map((c) => c.spans.length)).toEqual([10]);
    ex.calls[0]!.done({ code: ExportResultCode.SUCCESS });
  });

  it('drops past the queue limit and counts every span dropped or failed', async () => {
    const ex = new HeldExporter();
    const b = new SpanBatcher(ex, { maxQueueSize: 20, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    b.emit(spans(10)); // in flight, held
    b.emit(spans(30)); // 20 fit in the queue
    expect(b.stats.dropped).toBe(10);
    expect(b.queued).toBe(20);
    ex.calls[0]!.done({ code: ExportResultCode.FAILED, error: new Error('backend hung up') });
    await new Promise((r) => setImmediate(r));
    expect(b.stats.failed).toBe(10);
    expect(b.stats.lastError).toBe('backend hung up');
    expect(ex.calls).toHaveLength(2);
    ex.calls[1]!.done({ code: ExportResultCode.SUCCESS });
    await new Promise((r) => setImmediate(r));
    ex.calls[2]!.done({ code: ExportResultCode.SUCCESS });
    await b.flush();
    expect(b.stats).toMatchObject({ exported: 20, failed: 10, dropped: 10 });
  });

  it('flush sends what waits for the schedule delay', async () => {
    const ex = new HeldExporter();
    const b = new SpanBatcher(ex, { maxQueueSize: 100, maxBatchSize: 10, scheduleDelayMs: 60_000 });
    b.emit(spans(3));
    expect(ex.calls).toHaveLength(0);
    const flushed = b.flush();
    expect(ex.calls.map((c) => c.spans.length)).toEqual([3]);
    ex.calls[0]!.done({ code: ExportResultCode.SUCCESS });
    await flushed;
    expect(b.stats.exported).toBe(3);
  });
});
