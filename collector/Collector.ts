/**
 * `sonde run`: the layers of ARCHITECTURE.md wired left to right.
 * Kernel records arrive in batches; process records steer the process
 * filter, connection records feed the connection tracker, whose
 * transactions become spans for the configured sinks. Housekeeping
 * (idle connections, /proc rescans, lost-record reports) runs on timers.
 */
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Config } from '../config/schema.js';
import { ConnectionTracker, DEFAULT_TRACKER_LIMITS, type ObservedTransaction } from './conn/ConnectionTracker.js';
import { decodeEndpoints } from './conn/endpoints.js';
import type { Selector } from './discovery/selectors.js';
import { compileGlob, parsePortSet, portsOf, type PortSet } from './discovery/selectors.js';
import { OwnSockets } from './discovery/ownSockets.js';
import { ProcessRegistry } from './discovery/ProcessRegistry.js';
import { Counter, EventType, Role, Verdict, type DecodeError, type KernelEvent, type VerdictValue } from './ebpf/abi.js';
import type { ModeChoice } from './ebpf/captureMode.js';
import { KernelCapture } from './ebpf/KernelCapture.js';
import { KernelClock } from './ebpf/KernelClock.js';
import type { ProgramFailure } from './ebpf/BpfObject.js';
import type { SpanSink } from './export/SpanBatcher.js';
import type { Logger } from './log.js';
import { buildHttpSpan } from './spans/httpSpan.js';
import { ServiceResources } from './spans/ServiceResources.js';

export interface CollectorDeps {
  readonly config: Config;
  readonly choice: ModeChoice;
  readonly bpfDir: string;
  readonly tcpSendpage: boolean;
  readonly sinks: readonly SpanSink[];
  readonly log: Logger;
}

/** Counts of what went through, for the periodic and final reports. */
export interface CollectorStats {
  batches: number;
  records: number;
  invalidRecords: number;
  transactions: number;
  spans: number;
  parseErrors: Map<string, number>;
}

const HOUSEKEEPING_MS = 1000;

export function toSelector(s: Config['discovery']['instrument'][number]): Selector {
  const ports = s.open_ports === undefined ? undefined : (parsePortSet(s.open_ports) as PortSet);
  return {
    ...(ports ? { openPorts: ports } : {}),
    ...(s.exe_path ? { exePath: compileGlob(s.exe_path) } : {}),
    ...(s.target_pids ? { pids: new Set(s.target_pids) } : {}),
  };
}

export class Collector {
  private capture: KernelCapture | null = null;
  private readonly registry: ProcessRegistry;
  private readonly tracker: ConnectionTracker;
  private readonly clock = new KernelClock();
  private readonly resources: ServiceResources;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly ownSockets = new OwnSockets();
  private lastCounters: number[] = [];
  private readonly lastExport: Array<{ exported: number; failed: number; dropped: number }> = [];
  private readonly exportFailing: boolean[] = [];
  readonly stats: CollectorStats = { batches: 0, records: 0, invalidRecords: 0, transactions: 0, spans: 0, parseErrors: new Map() };

  constructor(private readonly deps: CollectorDeps) {
    const d = deps.config.discovery;
    this.registry = new ProcessRegistry(
      {
        instrument: d.instrument.map(toSelector),
        exclude: [...d.exclude_instrument, ...d.default_exclude_instrument].map(toSelector),
      },
      process.pid,
    );
    this.resources = new ServiceResources((pid) => this.registry.factsOf(pid));
    this.tracker = new ConnectionTracker({ ...DEFAULT_TRACKER_LIMITS, skipHintBytes: deps.config.ebpf.capture_size });
  }

  get mode(): ModeChoice {
    return this.deps.choice;
  }

  get programs(): readonly string[] {
    return this.capture?.programs ?? [];
  }

  /** Load, fill the process filter, attach. Nothing is captured before the filter is full. */
  start(): ProgramFailure | null {
    const { config, choice, bpfDir, tcpSendpage } = this.deps;
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

    this.applyVerdicts(this.registry.seed());
    const ports = this.registry.selectedPorts();
    const portErr = loaded.setOpenPorts(ports.flatMap((r) => [...portsOf([r])]));
    if (portErr) this.deps.log.warn({ err: portErr.message }, 'could not select ports in the kernel');

    const failure = loaded.attach((batch) => this.onBatch(batch));
    if (failure) return failure;
    this.lastCounters = loaded.counters();
    this.every(HOUSEKEEPING_MS, () => this.housekeeping());
    this.every(config.discovery.poll_interval, () => {
      this.registry.rescan();
      this.applyVerdicts(this.registry.takeChanges());
    });
    return null;
  }

  private every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private onBatch(batch: ReadonlyArray<KernelEvent | DecodeError>): void {
    this.stats.batches++;
    this.stats.records += batch.length;
    this.clock.sync();
    for (const ev of batch) {
      switch (ev.type) {
        case 'invalid':
          this.stats.invalidRecords++;
          break;
        case EventType.Data:
          if (this.registry.isTraced(ev.pid)) this.tracker.onData(ev);
          break;
        case EventType.ConnOpen:
          if (ev.role === Role.Self) this.ownSockets.add(decodeEndpoints(ev.tuple).local.port);
          else if (this.registry.isTraced(ev.pid)) this.tracker.onOpen(ev);
          break;
        case EventType.ConnState:
          this.tracker.onState(ev);
          break;
        case EventType.ProcExec:
          this.emitSpans(); // spans of the old image first
          this.resources.forget(ev.pid);
          this.registry.onExec(ev.pid, ev.comm, ev.verdict as VerdictValue);
          break;
        case EventType.ProcExit:
          this.emitSpans();
          this.resources.forget(ev.pid);
          this.registry.onExit(ev.pid);
          break;
        case EventType.ProcPort:
          this.registry.onPort(ev.pid, ev.port);
          if (this.registry.isTraced(ev.pid)) this.logSelected(ev.pid, { port: ev.port });
          break;
      }
    }
    this.emitSpans();
    this.applyVerdicts(this.registry.takeChanges());
  }

  private emitSpans(): void {
    let out = this.tracker.drain();
    if (out.transactions.some((t) => this.isOwnPeer(t))) {
      for (const t of out.transactions) if (this.isOwnPeer(t)) this.tracker.ignoreConnection(t.sock);
      const extra = this.tracker.drain();
      out = { ...out, transactions: out.transactions.filter((t) => !this.isOwnPeer(t)), ignore: [...out.ignore, ...extra.ignore] };
    }
    for (const req of out.ignore) this.capture?.ignoreConnection(req.sock, req.role);
    for (const h of out.hints) {
      this.capture?.setCaptureFrom(h.sock, h.from[0], h.from[1]);
      this.deps.log.debug({ sock: h.sock.toString(16), from: h.from }, 'capture resumes after a body');
    }
    for (const e of out.errors) {
      const key = `${e.protocol}:${e.code}`;
      this.stats.parseErrors.set(key, (this.stats.parseErrors.get(key) ?? 0) + 1);
    }
    if (out.transactions.length === 0) return;
    const toHrTime = this.clock.toHrTime.bind(this.clock);
    const spans: ReadableSpan[] = [];
    for (const obs of out.transactions) {
      spans.push(buildHttpSpan(obs, this.resources.of(obs.pid), { urlQuery: this.deps.config.attributes.url_query, toHrTime }));
    }
    this.stats.transactions += out.transactions.length;
    this.stats.spans += spans.length;
    for (const sink of this.deps.sinks) sink.emit(spans);
  }

  private logSelected(pid: number, why: { port?: number }): void {
    const f = this.registry.factsOf(pid);
    this.deps.log.info({ pid, exe: f?.exePath || f?.exeName, ...why }, 'process selected');
  }

  /** A transaction whose peer is Sonde itself: the receiving end of our own exports. */
  private isOwnPeer(t: ObservedTransaction): boolean {
    return t.role === 'server' && this.ownSockets.has(t.endpoints.remote.address, t.endpoints.remote.port);
  }

  private applyVerdicts(changes: ReadonlyArray<{ pid: number; verdict: number }>): void {
    const capture = this.capture;
    if (!capture) return;
    for (const c of changes) {
      if (c.verdict === Verdict.Trace && !this.registry.traceAll) this.logSelected(c.pid, {});
      // Absent from the map means the kernel's default for this mode.
      const isDefault = (c.verdict === Verdict.Trace) === this.registry.traceAll;
      if (isDefault) capture.clearVerdict(c.pid);
      else capture.setVerdict(c.pid, c.verdict === Verdict.Trace ? Verdict.Trace : Verdict.Ignore);
    }
  }

  private housekeeping(): void {
    if (!this.capture) return;
    this.tracker.sweep(this.clock.now());
    const now = this.capture.counters();
    const lostData = now[Counter.DropData]! - (this.lastCounters[Counter.DropData] ?? 0);
    const lostControl = now[Counter.DropControl]! - (this.lastCounters[Counter.DropControl] ?? 0);
    const lostInflight = now[Counter.DropInflight]! - (this.lastCounters[Counter.DropInflight] ?? 0);
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

  /** Kernel counters (enum sonde_counter), summed over CPUs. */
  kernelCounters(): number[] {
    return this.capture?.counters() ?? [];
  }

  get connections(): number {
    return this.tracker.size;
  }

  get trackerStats(): ConnectionTracker['stats'] {
    return this.tracker.stats;
  }

  /** Detach every probe, hand on what the ring still holds, flush the sinks. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    await this.capture?.detach();
    const counters = this.capture?.counters() ?? [];
    this.capture?.close();
    this.capture = null;
    await Promise.all(this.deps.sinks.map((s) => s.shutdown()));
    this.deps.log.info(
      {
        records: this.stats.records,
        batches: this.stats.batches,
        spans: this.stats.spans,
        kernel: {
          dataRecords: counters[Counter.DataRecords] ?? 0,
          dataBytes: counters[Counter.DataBytes] ?? 0,
          capturedBytes: counters[Counter.CapturedBytes] ?? 0,
          ignoredConnectionRecords: counters[Counter.IgnoredConn] ?? 0,
          lostDataRecords: counters[Counter.DropData] ?? 0,
          lostControlRecords: counters[Counter.DropControl] ?? 0,
          untrackedCalls: counters[Counter.DropInflight] ?? 0,
        },
        parseErrors: Object.fromEntries(this.stats.parseErrors),
        export: this.deps.sinks.map((s) => s.stats),
      },
      'sonde stopped',
    );
  }
}
