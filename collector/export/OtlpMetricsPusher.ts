/**
 * Metrics over OTLP every `interval` (OTEL_METRIC_EXPORT_INTERVAL), and
 * once more at shutdown; one export in flight at a time. Cumulative
 * temporality: a lost export loses nothing, the next one carries it.
 */
import { ExportResultCode } from '@opentelemetry/core';
import type { HistogramKind } from '../metrics/RedMetrics.js';
import type { MetricsOutput, MetricsOutputStats, MetricsProducer } from './MetricsOutput.js';
import type { MetricsExporter } from './otlp.js';

/** The last export at shutdown may not hold up exit longer than this. */
const FINAL_EXPORT_MS = 5000;

export class OtlpMetricsPusher implements MetricsOutput {
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<void> | null = null;
  private produce: MetricsProducer | null = null;
  readonly stats: MetricsOutputStats = { exports: 0, failures: 0, lastError: null };

  constructor(
    private readonly exporter: Pick<MetricsExporter, 'export' | 'shutdown'>,
    private readonly intervalMs: number,
    readonly kind: HistogramKind,
  ) {}

  start(produce: MetricsProducer): Promise<Error | null> {
    this.produce = produce;
    this.timer = setInterval(() => void this.push(), this.intervalMs);
    this.timer.unref();
    return Promise.resolve(null);
  }

  /** Export what there is now, unless an export is still in flight. */
  push(): Promise<void> {
    if (this.inFlight || !this.produce) return this.inFlight ?? Promise.resolve();
    const all = this.produce(this.kind);
    if (all.length === 0) return Promise.resolve();
    this.inFlight = new Promise<void>((resolve) => {
      this.exporter.export(all, (result) => {
        if (result.code === ExportResultCode.SUCCESS) this.stats.exports++;
        else {
          this.stats.failures++;
          this.stats.lastError = result.error?.message ?? 'export failed';
        }
        this.inFlight = null;
        resolve();
      });
    });
    return this.inFlight;
  }

  async shutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const final = (async () => {
      await this.inFlight;
      await this.push();
    })();
    let deadline: NodeJS.Timeout | undefined;
    await Promise.race([final, new Promise<void>((r) => (deadline = setTimeout(r, FINAL_EXPORT_MS)))]);
    clearTimeout(deadline);
    await this.exporter.shutdown();
  }
}
