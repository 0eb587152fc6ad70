/** Where finished spans go: the OTLP queue, or the trace printer. */
import type { ReadableSpan } from '@opentelemetry/sdk-trace';

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
  /** The most spans that may wait (0: the sink does not queue). */
  readonly capacity: number;
}
