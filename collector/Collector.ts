/**
 * `sonde run`: the kernel side loaded and attached, its batches handed to
 * the pipeline (ARCHITECTURE.md, left to right), and housekeeping on
 * timers: idle connections, /proc rescans, lost-record and export reports.
 */
import type { Config } from '../config/schema.js';
import { compileGlob, parsePortSet, portsOf, type PortSet, type Selector } from './discovery/selectors.js';
import { ProcessRegistry } from './discovery/ProcessRegistry.js';
import { Counter, Verdict } from './ebpf/abi.js';
import type { ProgramFailure } from './ebpf/BpfObject.js';
import type { ModeChoice } from './ebpf/captureMode.js';
import { Injector } from './ebpf/Injector.js';
import { KernelCapture } from './ebpf/KernelCapture.js';
import { KernelClock } from './ebpf/KernelClock.js';
import type { MetricsOutput } from './export/MetricsOutput.js';
import type { SpanSink } from './export/SpanSink.js';
import { RedMetrics, type HistogramKind } from './metrics/RedMetrics.js';
import { SelfMetrics, type HealthSnapshot } from './metrics/SelfMetrics.js';
import type { Logger } from './log.js';
import { Pipeline, type KernelControl } from './pipeline/Pipeline.js';
import { NodeProbes } from './node/NodeProbes.js';
import { TlsProbes } from './tls/TlsProbes.js';
import type { RecordingWriter } from './record/recording.js';

export interface CollectorDeps {
  readonly config: Config;
  readonly choice: ModeChoice;
  readonly bpfDir: string;
  readonly tcpSendpage: boolean;
  readonly sinks: readonly SpanSink[];
  /** OTLP metrics and the Prometheus endpoint; none: no request metrics are kept. */
  readonly metricOutputs?: readonly MetricsOutput[];
  readonly log: Logger;
  /** `sonde record`: every kernel record is also written here. */
  readonly recorder?: RecordingWriter;
}

const HOUSEKEEPING_MS = 1000;
/** Attribute sets per metric family and process before the overflow series. */
const MAX_SERIES = 2000;
/** A process with no request this long is dropped from the metrics. */
const METRICS_IDLE_MS = 5 * 60_000;

export function toSelector(s: Config['discovery']['instrument'][number]): Selector {
  const ports = s.open_ports === undefined ? undefined : (parsePortSet(s.open_ports) as PortSet);
  return {
    ...(ports ? { openPorts: ports } : {}),
    ...(s.exe_path ? { exePath: compileGlob(s.exe_path) } : {}),
    ...(s.cmd_args ? { cmdArgs: compileGlob(s.cmd_args) } : {}),
    ...(s.target_pids ? { pids: new Set(s.target_pids) } : {}),
    ...(s.containers_only ? { containersOnly: true } : {}),
  };
}

export class Collector {
  private capture: KernelCapture | null = null;
  private injector: Injector | null = null;
  private tls: TlsProbes | null = null;
  private node: NodeProbes | null = null;
  private readonly registry: ProcessRegistry;
  private readonly clock = new KernelClock();
  private readonly pipeline: Pipeline;
  private readonly timers: NodeJS.Timeout[] = [];
  private lastCounters: number[] = [];
  private readonly lastExport: Array<{ exported: number; failed: number; dropped: number }> = [];
  private readonly exportFailing: boolean[] = [];
  private readonly red: RedMetrics | undefined;
  private readonly self = new SelfMetrics(() => this.health());

  constructor(private readonly deps: CollectorDeps) {
    const d = deps.config.discovery;
    this.registry = new ProcessRegistry(
      {
        instrument: d.instrument.map(toSelector),
        exclude: [...d.exclude_instrument, ...d.default_exclude_instrument].map(toSelector),
        minAgeMs: d.min_process_age,
      },
      process.pid,
    );
    const kernel: KernelControl = {
      ignoreConnection: (sock, role, tls) => this.capture?.ignoreConnection(sock, role, tls),
      setCapture: (entry) => this.capture?.setCapture(entry),
      setVerdict: (pid, v) => this.capture?.setVerdict(pid, v) ?? null,
      clearVerdict: (pid) => this.capture?.clearVerdict(pid),
      probeLibraries: (pid) => {
        this.tls?.scan(pid);
        this.node?.attach(pid);
      },
      releaseProcess: (pid, sessions) => {
        this.tls?.forget(pid);
        this.node?.forget(pid);
        if (sessions.length > 0) this.capture?.forgetTlsSessions(pid, sessions);
      },
    };
    const outputs = deps.metricOutputs ?? [];
    if (outputs.length > 0) {
      const buckets = deps.config.otel_metrics_export.buckets;
      this.red = new RedMetrics({
        durationBuckets: buckets.duration_histogram,
        sizeBuckets: buckets.request_size_histogram,
        kinds: new Set<HistogramKind>(outputs.map((o) => o.kind)),
        maxSeries: MAX_SERIES,
        idleMs: METRICS_IDLE_MS,
      });
    }
    this.pipeline = new Pipeline({
      config: deps.config,
      registry: this.registry,
      sinks: deps.sinks,
      log: deps.log,
      kernel,
      time: this.clock,
      ...(this.red ? { metrics: this.red } : {}),
    });
  }

  get mode(): ModeChoice {
    return this.deps.choice;
  }

  get programs(): readonly string[] {
    return this.capture?.programs ?? [];
  }

  /** Start the metric outputs (a Prometheus port may be taken): the first error, or null. */
  async startMetrics(): Promise<Error | null> {
    const produce = (kind: HistogramKind) => [...(this.red?.collect(kind) ?? []), this.self.collect()];
    for (const o of this.deps.metricOutputs ?? []) {
      const err = await o.start(produce);
      if (err) return err;
    }
    return null;
  }

  /** Sonde's own counters now, for its health metrics. */
  health(): HealthSnapshot {
    const k = this.capture?.counters() ?? this.lastCounters;
    const stats = this.pipeline.stats;
    const sum = (f: (s: SpanSink) => number): number => this.deps.sinks.reduce((n, s) => n + f(s), 0);
    return {
      recordsRead: stats.records,
      recordsLost: { data: k[Counter.DropData] ?? 0, control: k[Counter.DropControl] ?? 0, untrackedCalls: k[Counter.DropInflight] ?? 0 },
      bytesCaptured: k[Counter.CapturedBytes] ?? 0,
      parseErrors: stats.parseErrors,
      connectionsTracked: this.pipeline.connections,
      connectionsEvicted: this.pipeline.trackerStats.evicted,
      spans: { exported: sum((s) => s.stats.exported), failed: sum((s) => s.stats.failed), dropped: sum((s) => s.stats.dropped) },
      exportQueue: { queued: sum((s) => s.queued), capacity: sum((s) => s.capacity) },
      probes: { kernel: this.capture?.programs.length ?? 0, tls: this.tls?.stats.probes ?? 0 },
      routesOverflowed: this.pipeline.overrides.routesOverflowed,
      seriesOverflowed: this.red?.overflowed ?? 0,
    };
  }

  /** Load, fill the process filter, attach. Nothing is captured before the filter is full. */
  start(): ProgramFailure | null {
    const { config, choice, bpfDir, tcpSendpage, recorder } = this.deps;
    const loaded = KernelCapture.load({
      bpfDir,
      choice,
      tcpSendpage,
      captureSize: config.ebpf.capture_size,
      selfPid: process.pid,
      wakeupBytes: Math.min(config.ebpf.wakeup_bytes, config.ebpf.ring_buffer_size / 2),
      defaultVerdict: this.registry.traceAll ? Verdict.Trace : Verdict.Ignore,
      ringBufferSize: config.ebpf.ring_buffer_size,
      drainIntervalMs: config.ebpf.drain_interval,
    });
    if (!(loaded instanceof KernelCapture)) return loaded;
    this.capture = loaded;
    if (config.ebpf.tls) {
      this.tls = new TlsProbes(loaded.uprobes, this.deps.log);
      this.tls.watchLinker();
      this.tls.watchSystemLibraries();
    }
    if (config.ebpf.node_async_context) this.node = new NodeProbes(loaded.uprobes, this.deps.log);

    this.pipeline.applyVerdicts(this.registry.seed());
    const ports = this.registry.selectedPorts();
    const portErr = loaded.setOpenPorts(ports.flatMap((r) => [...portsOf([r])]));
    if (portErr) this.deps.log.warn({ err: portErr.message }, 'could not select ports in the kernel');

    const failure = loaded.attach(
      (batch) => {
        this.clock.sync();
        this.pipeline.handle(batch);
        // After the pipeline: a recording names only the processes it traced, so a replay traces the same ones.
        recorder?.batch(batch, this.clock.offset(), (pid) => (this.registry.isTraced(pid) ? this.registry.factsOf(pid) : null));
      },
      recorder ? (raw) => recorder.raw(raw) : undefined,
    );
    if (failure) return failure;
    if (config.ebpf.context_propagation === 'headers') this.startInjection(loaded);
    this.lastCounters = loaded.counters();
    this.every(HOUSEKEEPING_MS, () => this.housekeeping());
    if (config.discovery.min_process_age > 0) {
      this.every(Math.min(250, config.discovery.min_process_age), () => {
        this.registry.matureDue(Date.now());
        this.pipeline.applyVerdicts(this.registry.takeChanges());
      });
    }
    this.every(config.discovery.poll_interval, () => {
      this.registry.rescan();
      this.pipeline.applyVerdicts(this.registry.takeChanges());
    });
    return null;
  }

  /**
   * ebpf.context_propagation: headers. Loaded after capture is attached, so
   * its records land in a ring that is already drained; a failure is
   * logged with its reason and capture goes on without injection.
   */
  private startInjection(capture: KernelCapture): void {
    const { config, bpfDir } = this.deps;
    if (this.deps.choice.mode !== 'tracepoint') {
      // A socket in a sockhash sends through tcp_bpf_sendmsg, not tcp_sendmsg: kprobe and fentry
      // capture would stop seeing those sends, so injection there would cost every client span.
      this.deps.log.error(
        { mode: this.deps.choice.mode },
        `context propagation disabled: it needs tracepoint capture (this run uses ${this.deps.choice.mode} mode, which cannot see sends through the sockmap); capturing without injecting traceparent`,
      );
      return;
    }
    const injector = Injector.load({
      bpfDir,
      shared: capture.sharedMaps(),
      settings: {
        captureSize: config.ebpf.capture_size,
        selfPid: process.pid,
        wakeupBytes: Math.min(config.ebpf.wakeup_bytes, config.ebpf.ring_buffer_size / 2),
        defaultVerdict: this.registry.traceAll ? Verdict.Trace : Verdict.Ignore,
      },
    });
    const failure = injector instanceof Injector ? injector.attach() : injector;
    if (failure) {
      if (injector instanceof Injector) injector.close();
      this.deps.log.error(
        { program: failure.program, err: failure.error.message, ...(failure.verifierLog ? { verifierLog: failure.verifierLog.slice(-2000) } : {}) },
        `context propagation disabled: ${failure.program} could not be loaded or attached (${failure.error.message}); capturing without injecting traceparent`,
      );
      return;
    }
    this.injector = injector as Injector;
    this.deps.log.info({ cgroup: this.injector.cgroup }, 'context propagation: writing traceparent into outgoing HTTP/1 requests of traced processes');
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private housekeeping(): void {
    if (!this.capture) return;
    this.pipeline.sweep(this.clock.now());
    this.tls?.sweep();
    const now = this.capture.counters();
    const delta = (i: number): number => now[i]! - (this.lastCounters[i] ?? 0);
    const [lostData, lostControl, lostInflight] = [delta(Counter.DropData), delta(Counter.DropControl), delta(Counter.DropInflight)];
    if (lostData > 0 || lostControl > 0 || lostInflight > 0) {
      this.deps.log.warn(
        { lostDataRecords: lostData, lostControlRecords: lostControl, untrackedCalls: lostInflight, ringBufferBytes: this.deps.config.ebpf.ring_buffer_size },
        'records lost in the kernel (ring buffer full); raise ebpf.ring_buffer_size or trace fewer processes',
      );
    }
    this.lastCounters = now;
    this.deps.sinks.forEach((sink, i) => {
      const last = this.lastExport[i] ?? { exported: 0, failed: 0, dropped: 0 };
      const failed = sink.stats.failed - last.failed;
      const dropped = sink.stats.dropped - last.dropped;
      if (failed > 0 || dropped > 0) {
        this.exportFailing[i] = true;
        this.deps.log.warn(
          { failedSpans: failed, droppedSpans: dropped, queued: sink.queued, error: sink.stats.lastError },
          'span export failing; capture continues, and the spans that could not be sent are counted',
        );
      } else if (this.exportFailing[i] && sink.stats.exported > last.exported) {
        this.exportFailing[i] = false;
        this.deps.log.info({ exportedSpans: sink.stats.exported }, 'span export recovered');
      }
      this.lastExport[i] = { ...sink.stats };
    });
  }

  /** Detach every probe, hand on what the ring still holds, flush the sinks. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.injector?.detach();
    this.injector?.close();
    this.injector = null;
    await this.capture?.detach();
    const counters = this.capture?.counters() ?? [];
    this.capture?.close();
    this.capture = null;
    await this.deps.recorder?.close();
    await Promise.all([...this.deps.sinks, ...(this.deps.metricOutputs ?? [])].map((s) => s.shutdown()));
    const stats = this.pipeline.stats;
    this.deps.log.info(
      {
        records: stats.records,
        batches: stats.batches,
        spans: stats.spans,
        unsampledSpans: stats.unsampled,
        traceGraph: this.pipeline.traceGraphStats,
        ...(this.node ? { nodeAsync: { ...this.pipeline.asyncStats, ...this.node.stats } } : {}),
        kernel: {
          dataRecords: counters[Counter.DataRecords] ?? 0,
          dataBytes: counters[Counter.DataBytes] ?? 0,
          capturedBytes: counters[Counter.CapturedBytes] ?? 0,
          ignoredConnectionRecords: counters[Counter.IgnoredConn] ?? 0,
          lostDataRecords: counters[Counter.DropData] ?? 0,
          lostControlRecords: counters[Counter.DropControl] ?? 0,
          untrackedCalls: counters[Counter.DropInflight] ?? 0,
          ...(this.deps.config.ebpf.context_propagation === 'headers'
            ? {
                injection: {
                  injected: counters[Counter.Injected] ?? 0,
                  alreadyPresent: counters[Counter.InjectPresent] ?? 0,
                  skipped: counters[Counter.InjectSkipped] ?? 0,
                  failed: counters[Counter.InjectFailed] ?? 0,
                  untrackedSockets: counters[Counter.InjectUntracked] ?? 0,
                },
              }
            : {}),
        },
        connections: { ...this.pipeline.trackerStats, open: this.pipeline.connections },
        parseErrors: Object.fromEntries(stats.parseErrors),
        export: this.deps.sinks.map((s) => s.stats),
        metrics: { outputs: (this.deps.metricOutputs ?? []).map((o) => o.stats), series: this.red?.series ?? 0, routesOverflowed: this.pipeline.overrides.routesOverflowed },
      },
      'sonde stopped',
    );
  }
}
