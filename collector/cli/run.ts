/**
 * `sonde run`: check privileges and the kernel, choose the capture mode,
 * start the collector, and stop it cleanly on SIGINT/SIGTERM (a second
 * signal exits at once).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { Config } from '../../config/schema.js';
import { Collector } from '../Collector.js';
import { ownCapabilities } from '../ebpf/capabilities.js';
import { chooseCaptureMode } from '../ebpf/captureMode.js';
import { probeKernelFeatures, tracefsDir } from '../ebpf/features.js';
import { setLibbpfPrint } from '../ebpf/libbpf.js';
import type { MetricsOutput } from '../export/MetricsOutput.js';
import { createOtlpExporter, createOtlpMetricsExporter, resolveOtlpMetricsTarget, resolveOtlpTarget } from '../export/otlp.js';
import { OtlpMetricsPusher } from '../export/OtlpMetricsPusher.js';
import { PrometheusEndpoint } from '../export/PrometheusEndpoint.js';
import { OtlpSpanQueue } from '../export/OtlpSpanQueue.js';
import type { SpanSink } from '../export/SpanSink.js';
import { TracePrinter } from '../export/TracePrinter.js';
import type { Logger } from '../log.js';
import { startCpuProfile } from '../debug/cpuProfile.js';
import { RecordingWriter } from '../record/recording.js';
import { ROOT } from '../version.js';

export const EXIT_CONFIG = 2;
export const EXIT_PRIVILEGES = 3;
export const EXIT_KERNEL = 4;

function ensureTracefs(log: Logger): void {
  if (tracefsDir() !== null) return;
  try {
    execFileSync('mount', ['-t', 'tracefs', 'nodev', '/sys/kernel/tracing'], { stdio: 'ignore' });
    log.info('mounted tracefs at /sys/kernel/tracing');
  } catch {
    log.warn('tracefs is not mounted and mounting it failed: mount -t tracefs nodev /sys/kernel/tracing');
  }
}

export function sinksFor(config: Config, log: Logger): SpanSink[] {
  const sinks: SpanSink[] = [];
  const target = resolveOtlpTarget(config.otel_traces_export);
  if (target) {
    const c = config.otel_traces_export;
    sinks.push(
      new OtlpSpanQueue(createOtlpExporter(target, c.export_timeout), {
        maxQueueSize: c.max_queue_size,
        maxBatchSize: c.max_export_batch_size,
        scheduleDelayMs: c.schedule_delay,
      }),
    );
    log.info({ protocol: target.protocol, url: target.url }, 'exporting spans over OTLP');
  }
  let printer = config.trace_printer;
  if (printer === 'auto') printer = target ? 'disabled' : process.stdout.isTTY ? 'text' : 'json';
  if (printer !== 'disabled') sinks.push(new TracePrinter(printer));
  return sinks;
}

/** The metric outputs the configuration asks for: OTLP, a Prometheus endpoint, both, or none. */
export function metricOutputsFor(config: Config, log: Logger): MetricsOutput[] {
  const outputs: MetricsOutput[] = [];
  const c = config.otel_metrics_export;
  const target = resolveOtlpMetricsTarget(c);
  if (target) {
    const kind = c.histogram_aggregation === 'base2_exponential_bucket_histogram' ? 'exponential' : 'explicit';
    outputs.push(new OtlpMetricsPusher(createOtlpMetricsExporter(target, c.export_timeout), c.interval, kind));
    log.info({ protocol: target.protocol, url: target.url, intervalMs: c.interval, histograms: kind }, 'exporting metrics over OTLP');
  }
  const p = config.prometheus_export;
  if (p.port !== undefined) {
    outputs.push(new PrometheusEndpoint(p.port, p.path));
    log.info({ port: p.port, path: p.path }, 'serving Prometheus metrics');
  }
  return outputs;
}

export interface RunOptions {
  /** `sonde record`: also write every kernel record to this file. */
  readonly recordTo?: string;
}

export async function run(config: Config, log: Logger, opts: RunOptions = {}): Promise<number> {
  setLibbpfPrint((level, line) => log.debug({ libbpf: level }, line));
  const caps = ownCapabilities({ contextPropagation: config.ebpf.context_propagation === 'headers' });
  if (caps.missing.length > 0) {
    log.error(
      { missing: caps.missing, why: Object.fromEntries(caps.missing.map((c) => [c, caps.reasons[c]])) },
      `missing capabilities: ${caps.missing.join(', ')} (run as root, or grant them)`,
    );
    return EXIT_PRIVILEGES;
  }
  ensureTracefs(log);
  const bpfDir = join(ROOT, 'dist', 'bpf');
  const features = probeKernelFeatures(bpfDir);
  const choice = chooseCaptureMode(features, config.ebpf.capture_mode, config.ebpf.socket_lookup);
  if (choice instanceof Error) {
    log.error(choice.message);
    return EXIT_KERNEL;
  }

  let recorder: RecordingWriter | undefined;
  if (opts.recordTo !== undefined) {
    const w = RecordingWriter.open(opts.recordTo);
    if (w instanceof Error) {
      log.error(w.message);
      return EXIT_CONFIG;
    }
    recorder = w;
    log.info({ file: opts.recordTo }, 'recording kernel records');
  }
  const collector = new Collector({
    config,
    choice,
    bpfDir,
    tcpSendpage: features.tcpSendpage,
    sinks: sinksFor(config, log),
    metricOutputs: metricOutputsFor(config, log),
    log,
    ...(recorder ? { recorder } : {}),
  });
  const metricsFailure = await collector.startMetrics();
  if (metricsFailure) {
    log.error(metricsFailure.message);
    return EXIT_CONFIG;
  }
  const failure = collector.start();
  if (failure) {
    log.error({ program: failure.program, verifierLog: failure.verifierLog }, failure.error.message);
    return EXIT_KERNEL;
  }
  const profiler = process.env.SONDE_CPU_PROFILE ? await startCpuProfile(process.env.SONDE_CPU_PROFILE) : null;
  log.info(
    {
      mode: choice.mode,
      socketLookup: choice.socketLookup,
      reason: choice.reason,
      programs: collector.programs.length,
      selection: config.discovery.instrument.length === 0 ? 'all processes' : config.discovery.instrument,
    },
    'sonde capturing',
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        log.warn(`${signal} again: exiting now`);
        process.exit(signal === 'SIGINT' ? 130 : 143);
      }
      stopping = true;
      log.info(`${signal}: detaching probes and flushing spans`);
      collector
        .stop()
        .then(() => profiler?.stop())
        .then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error while stopping');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
