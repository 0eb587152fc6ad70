/**
 * What happens to a batch of kernel records, wherever it comes from (the
 * ring buffer, or a recording being replayed): process records steer
 * discovery, connection records feed the connection tracker, whose
 * transactions become spans for the sinks; what the kernel should do
 * differently (verdicts, ignored connections, skipped bodies) goes back
 * through KernelControl.
 */
import type { HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { Config } from '../../config/schema.js';
import { ConnectionTracker, DEFAULT_TRACKER_LIMITS, type CaptureEntry, type ObservedTransaction } from '../conn/ConnectionTracker.js';
import { decodeEndpoints } from '../conn/endpoints.js';
import { OwnSockets } from '../discovery/ownSockets.js';
import { SelectorOverrides } from '../discovery/SelectorOverrides.js';
import type { ProcessRegistry, VerdictChange } from '../discovery/ProcessRegistry.js';
import { EventType, Role, Verdict, type DecodeError, type KernelEvent, type VerdictValue } from '../ebpf/abi.js';
import type { SpanSink } from '../export/SpanSink.js';
import type { Logger } from '../log.js';
import type { RedMetrics } from '../metrics/RedMetrics.js';
import { buildSpan } from '../spans/buildSpan.js';
import { headerCapture, ids as spanIds, type HeaderCapture } from '../spans/httpSpan.js';
import { TraceGraph } from '../spans/TraceGraph.js';
import { sampled } from '../spans/traceContext.js';
import { ServiceResources } from '../spans/ServiceResources.js';

/** What the pipeline asks of the kernel side. */
export interface KernelControl {
  ignoreConnection(sock: bigint, role: number, tls: boolean): void;
  setCapture(entry: CaptureEntry): void;
  setVerdict(pid: number, verdict: VerdictValue): Error | null;
  clearVerdict(pid: number): void;
  /** A traced process may map TLS libraries not probed yet: look. */
  probeLibraries(pid: number): void;
  /** A traced process is gone: release what was kept for it (TLS probes and sessions). */
  releaseProcess(pid: number, tlsSessions: readonly bigint[]): void;
}

/** For replays: there is no kernel to tell. */
export const NO_KERNEL: KernelControl = {
  ignoreConnection: () => {},
  setCapture: () => {},
  setVerdict: () => null,
  clearVerdict: () => {},
  probeLibraries: () => {},
  releaseProcess: () => {},
};

/** Kernel monotonic time to OpenTelemetry wall-clock time. */
export interface TimeBase {
  toHrTime(kernelNs: number): HrTime;
}

export interface PipelineDeps {
  readonly config: Config;
  readonly registry: ProcessRegistry;
  readonly sinks: readonly SpanSink[];
  readonly log: Logger;
  readonly kernel: KernelControl;
  readonly time: TimeBase;
  /** Request metrics, when an output wants them: every transaction is counted, sampled or not. */
  readonly metrics?: RedMetrics;
}

/** Counts of what went through, for the periodic and final reports. */
export interface PipelineStats {
  batches: number;
  records: number;
  invalidRecords: number;
  transactions: number;
  spans: number;
  /** Spans of traces whose incoming traceparent said not sampled: not exported. */
  unsampled: number;
  parseErrors: Map<string, number>;
}

export class Pipeline {
  private readonly tracker: ConnectionTracker;
  private readonly resources: ServiceResources;
  private readonly ownSockets = new OwnSockets();
  private readonly graph = new TraceGraph(spanIds);
  readonly overrides: SelectorOverrides;
  private readonly headers: HeaderCapture | undefined;
  /** Processes whose libraries to look at once this batch is through. */
  private readonly libraryScans = new Set<number>();
  readonly stats: PipelineStats = { batches: 0, records: 0, invalidRecords: 0, transactions: 0, spans: 0, unsampled: 0, parseErrors: new Map() };

  constructor(private readonly deps: PipelineDeps) {
    this.overrides = new SelectorOverrides(deps.config, (pid) => deps.registry.selectorOf(pid));
    this.resources = new ServiceResources((pid) => deps.registry.factsOf(pid), this.overrides.serviceOf);
    const h = deps.config.attributes.http_headers;
    this.headers = headerCapture(h.request, h.response);
    this.tracker = new ConnectionTracker({ ...DEFAULT_TRACKER_LIMITS, skipHintBytes: deps.config.ebpf.capture_size });
  }

  get connections(): number {
    return this.tracker.size;
  }

  /** How spans were placed in traces: requests never answered, ends that disagreed. */
  get traceGraphStats(): TraceGraph['stats'] {
    return this.graph.stats;
  }

  get trackerStats(): ConnectionTracker['stats'] {
    return this.tracker.stats;
  }

  /** Node.js async context: records followed, ids not understood. */
  get asyncStats(): ConnectionTracker['asyncStats'] {
    return this.tracker.asyncStats;
  }

  handle(batch: ReadonlyArray<KernelEvent | DecodeError>): void {
    const registry = this.deps.registry;
    this.stats.batches++;
    this.stats.records += batch.length;
    for (const ev of batch) {
      switch (ev.type) {
        case 'invalid':
          this.stats.invalidRecords++;
          break;
        case EventType.Data:
          if (registry.isTraced(ev.pid)) this.tracker.onData(ev);
          break;
        case EventType.ConnOpen:
          if (ev.role === Role.Self) this.ownSockets.add(decodeEndpoints(ev.tuple).local.port);
          else if (registry.isTraced(ev.pid)) this.tracker.onOpen(ev);
          break;
        case EventType.ConnState:
          this.tracker.onState(ev);
          break;
        case EventType.Inject:
          if (registry.isTraced(ev.pid)) this.tracker.onInject(ev);
          break;
        case EventType.TlsBind:
          if (registry.isTraced(ev.pid)) this.tracker.onTlsBind(ev);
          break;
        case EventType.NodeAsync:
          if (registry.isTraced(ev.pid)) this.tracker.onNodeAsync(ev);
          break;
        case EventType.ProcExec:
          this.emitSpans(); // spans of the old image first
          this.resources.forget(ev.pid);
          registry.onExec(ev.pid, ev.comm, ev.verdict as VerdictValue, ev.exec);
          if (registry.isTraced(ev.pid)) this.libraryScans.add(ev.pid);
          break;
        case EventType.ProcLibs:
          if (registry.isTraced(ev.pid)) this.libraryScans.add(ev.pid);
          break;
        case EventType.ProcExit:
          this.emitSpans();
          if (registry.isTraced(ev.pid)) this.deps.log.info({ pid: ev.pid }, 'process released');
          this.resources.forget(ev.pid);
          registry.onExit(ev.pid);
          this.libraryScans.delete(ev.pid);
          this.deps.kernel.releaseProcess(ev.pid, this.tracker.forgetProcess(ev.pid));
          break;
        case EventType.ProcPort:
          registry.onPort(ev.pid, ev.port);
          if (registry.isTraced(ev.pid)) this.logSelected(ev.pid, { port: ev.port });
          break;
      }
    }
    this.emitSpans();
    this.applyVerdicts(registry.takeChanges());
    for (const pid of this.libraryScans) this.deps.kernel.probeLibraries(pid);
    this.libraryScans.clear();
  }

  /** Drop closed and idle connections; `now` is kernel ns. */
  sweep(now: number): void {
    this.tracker.sweep(now);
  }

  /** Tell the kernel what discovery decided. Absent from its map means its default. */
  applyVerdicts(changes: readonly VerdictChange[]): void {
    const { kernel, registry } = this.deps;
    for (const c of changes) {
      if (c.verdict === Verdict.Trace && !registry.traceAll) this.logSelected(c.pid, {});
      const isDefault = (c.verdict === Verdict.Trace) === registry.traceAll;
      if (isDefault) kernel.clearVerdict(c.pid);
      else kernel.setVerdict(c.pid, c.verdict === Verdict.Trace ? Verdict.Trace : Verdict.Ignore);
      if (c.verdict === Verdict.Trace) kernel.probeLibraries(c.pid);
      else kernel.releaseProcess(c.pid, []);
    }
  }

  private emitSpans(): void {
    let out = this.tracker.drain();
    if (out.transactions.some((t) => this.isOwnPeer(t))) {
      for (const t of out.transactions) if (this.isOwnPeer(t)) this.tracker.ignoreConnection(t.sock);
      const extra = this.tracker.drain();
      out = { ...out, transactions: out.transactions.filter((t) => !this.isOwnPeer(t)), ignore: [...out.ignore, ...extra.ignore] };
    }
    const { kernel, log } = this.deps;
    for (const entry of out.capture) {
      kernel.setCapture(entry);
      log.debug({ sock: entry.sock.toString(16), tls: entry.tls, whole: entry.whole, from: entry.from }, 'capture changed');
    }
    for (const req of out.ignore) kernel.ignoreConnection(req.sock, req.role, req.tls);
    for (const s of out.started) {
      if (s.role === 'server') this.graph.serverStarted(s.req, s.exchange, s.tieable);
      else this.graph.clientStarted(s.req, s.exchange, s.servedBy);
    }
    for (const e of out.errors) {
      const key = `${e.protocol}:${e.code}`;
      this.stats.parseErrors.set(key, (this.stats.parseErrors.get(key) ?? 0) + 1);
    }
    if (out.transactions.length === 0) return;
    const opts = { urlQuery: this.deps.config.attributes.url_query, toHrTime: (ns: number) => this.deps.time.toHrTime(ns), graph: this.graph, routes: this.overrides.routesOf, sampler: this.overrides.samplerOf, ...(this.headers ? { headers: this.headers } : {}) };
    const spans: ReadableSpan[] = [];
    const metrics = this.deps.metrics;
    for (const obs of out.transactions) {
      const span = buildSpan(obs, this.resources.of(obs.pid), opts);
      metrics?.record(span, obs.tls);
      if (sampled(span)) spans.push(span);
      else this.stats.unsampled++;
    }
    this.stats.transactions += out.transactions.length;
    this.stats.spans += spans.length;
    for (const sink of this.deps.sinks) sink.emit(spans);
  }

  private logSelected(pid: number, why: { port?: number }): void {
    const f = this.deps.registry.factsOf(pid);
    this.deps.log.info({ pid, exe: f?.exePath || f?.exeName, ...why }, 'process selected');
  }

  /** A transaction whose peer is Sonde itself: the receiving end of our own exports. */
  private isOwnPeer(t: ObservedTransaction): boolean {
    return t.role === 'server' && this.ownSockets.has(t.endpoints.remote.address, t.endpoints.remote.port);
  }
}
