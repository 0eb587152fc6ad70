/** Where metrics go: pushed over OTLP on an interval, or pulled by a Prometheus scrape. */
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { HistogramKind } from '../metrics/RedMetrics.js';

/** Everything to report now: every traced process's metrics, and Sonde's own. */
export type MetricsProducer = (kind: HistogramKind) => ResourceMetrics[];

export interface MetricsOutputStats {
  /** Exports (pushes or scrapes) that succeeded. */
  exports: number;
  failures: number;
  lastError: string | null;
}

export interface MetricsOutput {
  /** The histogram kind this output reads. */
  readonly kind: HistogramKind;
  /** Begin exporting (listen, or start the push timer); an error names what stopped it. */
  start(produce: MetricsProducer): Promise<Error | null>;
  /** A last export, then stop. */
  shutdown(): Promise<void>;
  readonly stats: MetricsOutputStats;
}
