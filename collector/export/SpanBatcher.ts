/**
 * Spans to an exporter in batches: a bounded queue, sent when a batch is
 * full or the schedule delay passes, one export in flight at a time.
 * A slow or dead backend fills the queue; past its limit spans are
 * dropped and counted, and capture goes on regardless.
 *
 * The SDK's BatchSpanProcessor does the same but only logs its drops; we
 * need them as counters, and it expects spans from a tracer, not ours.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';

export interface BatcherLimits {
  readonly maxQueueSize: number;
  readonly maxBatchSize: number;
  readonly scheduleDelayMs: number;
}

export interface ExportStats {
  exported: number;
  failed: number;
  dropped: number;
  lastError: string | null;
}

export interface SpanSink {
  emit(spans: readonly ReadableSpan[]): void;
  /** Send everything queued now; resolves when the backend answered (or gave up). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
  readonly stats: ExportStats;
  /** Spans waiting to be sent. */
  readonly queued: number;
}

export class SpanBatcher implements SpanSink {
  private queue: ReadableSpan[] = [];
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: ExportStats = { exported: 0, failed: 0, dropped: 0, lastError: null };

  constructor(
    private readonly exporter: SpanExporter,
    private readonly limits: BatcherLimits,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  emit(spans: readonly ReadableSpan[]): void {
    const room = this.limits.maxQueueSize - this.queue.length;
    if (spans.length > room) this.stats.dropped += spans.length - Math.max(room, 0);
    for (let i = 0; i < Math.min(room, spans.length); i++) this.queue.push(spans[i]!);
    if (this.queue.length >= this.limits.maxBatchSize) this.sendNext();
    else if (this.queue.length > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.sendNext();
      }, this.limits.scheduleDelayMs);
      this.timer.unref();
    }
  }

  private sendNext(): void {
    if (this.inFlight !== null || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.limits.maxBatchSize);
    this.inFlight = new Promise<void>((resolve) => {
      this.exporter.export(batch, (result) => {
        if (result.code === ExportResultCode.SUCCESS) this.stats.exported += batch.length;
        else {
          this.stats.failed += batch.length;
          this.stats.lastError = result.error?.message ?? 'export failed';
        }
        resolve();
      });
    }).then(() => {
      this.inFlight = null;
      if (this.queue.length >= this.limits.maxBatchSize) this.sendNext();
      else if (this.queue.length > 0) this.emit([]);
    });
  }

  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    while (this.inFlight !== null || this.queue.length > 0) {
      if (this.inFlight === null) this.sendNext();
      await this.inFlight;
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.exporter.shutdown();
  }
}
