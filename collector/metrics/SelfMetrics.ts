/**
 * Sonde's own health, on the same outputs as the metrics it makes for
 * others (service.name "sonde"): what the kernel handed over and what it
 * lost, parse errors by protocol, connections, spans exported and failed,
 * the export queue, probes attached. Read from the collector's counters
 * at collection time: nothing is recorded per event.
 */
import { hostname } from 'node:os';
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { ATTR_SERVICE_INSTANCE_ID, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { VERSION } from '../version.js';

/** A snapshot of the collector's counters (totals since start) and gauges (now). */
export interface HealthSnapshot {
  readonly recordsRead: number;
  readonly recordsLost: { readonly data: number; readonly control: number; readonly untrackedCalls: number };
  readonly bytesCaptured: number;
  /** "protocol:code" → count. */
  readonly parseErrors: ReadonlyMap<string, number>;
  readonly connectionsTracked: number;
  readonly connectionsEvicted: number;
  readonly spans: { readonly exported: number; readonly failed: number; readonly dropped: number };
  readonly exportQueue: { readonly queued: number; readonly capacity: number };
  readonly probes: { readonly kernel: number; readonly tls: number };
  readonly routesOverflowed: number;
  readonly seriesOverflowed: number;
}

const SCOPE = { name: 'sonde', version: VERSION };

type Point = readonly [Attributes, number];

export class SelfMetrics {
  readonly resource: Resource = resourceFromAttributes({
    [ATTR_SERVICE_NAME]: 'sonde',
    [ATTR_SERVICE_VERSION]: VERSION,
    [ATTR_SERVICE_INSTANCE_ID]: `${hostname()}:${process.pid}`,
  });
  private readonly start: HrTime = hr(Date.now());

  constructor(private readonly snapshot: () => HealthSnapshot) {}

  collect(): ResourceMetrics {
    const s = this.snapshot();
    const end = hr(Date.now());
    const counter = (name: string, unit: string, description: string, points: readonly Point[]): MetricData => ({
      descriptor: { name, unit, description, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: points.map(([attributes, value]) => ({ attributes, value, startTime: this.start, endTime: end })),
    });
    const gauge = (name: string, unit: string, description: string, points: readonly Point[]): MetricData => ({
      descriptor: { name, unit, description, valueType: ValueType.DOUBLE },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.GAUGE,
      dataPoints: points.map(([attributes, value]) => ({ attributes, value, startTime: end, endTime: end })),
    });
    const parseErrors: Point[] = [...s.parseErrors].map(([key, n]) => {
      const colon = key.indexOf(':');
      return [{ protocol: key.slice(0, colon), error: key.slice(colon + 1) }, n];
    });
    const metrics = [
      counter('sonde.records.read', '{record}', 'Records read from the kernel ring buffer.', [[{}, s.recordsRead]]),
      counter('sonde.records.lost', '{record}', 'Records the kernel could not hand over (ring buffer full), by kind.', [
        [{ kind: 'data' }, s.recordsLost.data],
        [{ kind: 'control' }, s.recordsLost.control],
        [{ kind: 'untracked_call' }, s.recordsLost.untrackedCalls],
      ]),
      counter('sonde.captured', 'By', 'Payload bytes copied from the kernel.', [[{}, s.bytesCaptured]]),
      counter('sonde.parse.errors', '{error}', 'Protocol parse errors, by protocol and error.', parseErrors),
      gauge('sonde.connections.tracked', '{connection}', 'Connections tracked now.', [[{}, s.connectionsTracked]]),
      counter('sonde.connections.evicted', '{connection}', 'Connections evicted from a full connection table.', [[{}, s.connectionsEvicted]]),
      counter('sonde.spans.exported', '{span}', 'Spans the trace backend accepted.', [[{}, s.spans.exported]]),
      counter('sonde.spans.failed', '{span}', 'Spans whose export failed.', [[{}, s.spans.failed]]),
      counter('sonde.spans.dropped', '{span}', 'Spans dropped from a full export queue.', [[{}, s.spans.dropped]]),
      gauge('sonde.export.queue.size', '{span}', 'Spans waiting to be exported.', [[{}, s.exportQueue.queued]]),
      gauge('sonde.export.queue.fill', '1', 'Share of the export queue in use.', [[{}, s.exportQueue.capacity > 0 ? s.exportQueue.queued / s.exportQueue.capacity : 0]]),
      gauge('sonde.probes.attached', '{probe}', 'BPF programs attached now: kernel probes, and uprobes on TLS libraries.', [
        [{ kind: 'kernel' }, s.probes.kernel],
        [{ kind: 'tls' }, s.probes.tls],
      ]),
      counter('sonde.routes.overflowed', '{request}', 'Requests whose route was past its service\'s route limit.', [[{}, s.routesOverflowed]]),
      counter('sonde.metric.series.overflowed', '{record}', 'Metric records past the series limit of their process.', [[{}, s.seriesOverflowed]]),
    ];
    return { resource: this.resource, scopeMetrics: [{ scope: SCOPE, metrics }] };
  }
}

function hr(ms: number): HrTime {
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}
