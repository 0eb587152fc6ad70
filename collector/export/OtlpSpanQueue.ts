/**
 * Spans to an OTLP exporter in batches: encoded as they arrive (the queue
 * holds bytes, not objects), sent when a batch is full or the schedule
 * delay passes, one export in flight at a time. A slow or dead backend
 * fills the queue; past its limit spans are dropped and counted, and
 * capture goes on regardless.
 *
 * The SDK's BatchSpanProcessor does the same for span objects but only
 * logs its drops; we need them as counters, and bytes, not objects.
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SpanEncoder, type EncodedBatch } from './otlpEncoder.js';
import type { ExportStats, SpanSink } from './SpanSink.js';

export interface QueueLimits {
  readonly maxQueueSize: number;
  readonly maxBatchSize: number;
  readonly scheduleDelayMs: number;
}

/** What sends a batch: OTLPExporterBase with Sonde's serializer, in production. */
export interface BatchExporter {
  export(batch: EncodedBatch, done: (result: ExportResult) => void): void;
  shutdown(): Promise<void>;
}

export class OtlpSpanQueue implements SpanSink {
  private encoder = new SpanEncoder();
  /** Full batches waiting their turn, oldest first. */
  private readonly ready: EncodedBatch[] = [];
  private readyCount = 0;
  private inFlight: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  readonly stats: ExportStats = { exported: 0, failed: 0, dropped: 0, lastError: null };

  constructor(
    private readonly exporter: BatchExporter,
    private readonly limits: QueueLimits,
  ) {}

  get capacity(): number {
    return this.limits.maxQueueSize;
  }

  get queued(): number {
    return this.readyCount + this.encoder.count;
  }

  emit(spans: readonly ReadableSpan[]): void {
    for (const s of spans) {
      if (this.queued >= this.limits.maxQueueSize) {
        this.stats.dropped++;
        continue;
      }
      this.encoder.add(s);
      if (this.encoder.count >= this.limits.maxBatchSize) this.seal();
    }
    if (this.ready.length > 0) this.sendNext();
    else if (this.encoder.count > 0 && this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.seal();
        this.sendNext();
      }, this.limits.scheduleDelayMs);
      this.timer.unref();
    }
  }

  /** What the encoder holds becomes a batch of its own. */
  private seal(): void {
    if (this.encoder.count === 0) return;
    const batch = this.encoder.take();
    this.ready.push(batch);
    this.readyCount += batch.count;
  }

  private sendNext(): void {
    if (this.inFlight !== null) return;
    const batch = this.ready.shift();
    if (!batch) return;
    this.readyCount -= batch.count;
    this.inFlight = new Promise<void>((resolve) => {
      this.exporter.export(batch, (result) => {
        if (result.code === ExportResultCode.SUCCESS) this.stats.exported += batch.count;
        else {
          this.stats.failed += batch.count;
          this.stats.lastError = result.error?.message ?? 'export failed';
        }
        resolve();
      });
    }).then(() => {
      this.inFlight = null;
      this.sendNext();
    });
  }

  async flush(): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.seal();
    while (this.inFlight !== null || this.ready.length > 0) {
      if (this.inFlight === null) this.sendNext();
      await this.inFlight;
    }
  }

  async shutdown(): Promise<void> {
    await this.flush();
    await this.exporter.shutdown();
  }
}
