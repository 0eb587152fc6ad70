/**
 * Request rate, errors and duration of every observed transaction, sampled
 * or not, as the semantic conventions' histograms: http.server/client
 * request duration and body sizes, rpc.server/client call duration. Each
 * traced process (one Resource) has its own series; a series is one set
 * of attribute values, read off the span that was built for the
 * transaction, so spans and metrics always agree (http.route included).
 *
 * Bounded: at most `maxSeries` attribute sets per metric family and
 * process (past it, one series with otel.metric.overflow=true takes the
 * rest), and a process idle for `idleMs` is forgotten.
 */
import { ValueType, type AttributeValue, type Attributes, type HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import { SpanKind } from '@opentelemetry/api';
import type { SondeSpan } from '../spans/SondeSpan.js';
import {
  ATTR_HTTP_REQUEST_BODY_SIZE,
  ATTR_HTTP_RESPONSE_BODY_SIZE,
  ATTR_RPC_GRPC_STATUS_CODE,
  ATTR_RPC_METHOD,
  ATTR_RPC_SERVICE,
  ATTR_RPC_SYSTEM,
} from '../spans/semconv.js';
import { VERSION } from '../version.js';
import { ExplicitHistogram, ExponentialBuckets } from './histograms.js';

export type HistogramKind = 'explicit' | 'exponential';

export interface RedMetricsOptions {
  readonly durationBuckets: readonly number[];
  readonly sizeBuckets: readonly number[];
  /** Which accumulators to keep: explicit for Prometheus and by default, exponential when OTLP asks. */
  readonly kinds: ReadonlySet<HistogramKind>;
  readonly maxSeries: number;
  readonly idleMs: number;
}

const SCOPE = { name: 'sonde', version: VERSION };
export const ATTR_OTEL_METRIC_OVERFLOW = 'otel.metric.overflow';

type Family = 'http.server' | 'http.client' | 'rpc.server' | 'rpc.client';

interface Instrument {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  /** Which value of a series' group it reads: duration, request size, response size. */
  readonly slot: 0 | 1 | 2;
}

const FAMILIES: Readonly<Record<Family, { attrs: readonly string[]; instruments: readonly Instrument[] }>> = {
  'http.server': {
    attrs: [ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_ROUTE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_SCHEME, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ERROR_TYPE],
    instruments: [
      { name: 'http.server.request.duration', unit: 's', description: 'Duration of HTTP server requests.', slot: 0 },
      { name: 'http.server.request.body.size', unit: 'By', description: 'Size of HTTP server request bodies.', slot: 1 },
      { name: 'http.server.response.body.size', unit: 'By', description: 'Size of HTTP server response bodies.', slot: 2 },
    ],
  },
  'http.client': {
    attrs: [ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_URL_SCHEME, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ERROR_TYPE],
    instruments: [
      { name: 'http.client.request.duration', unit: 's', description: 'Duration of HTTP client requests.', slot: 0 },
      { name: 'http.client.request.body.size', unit: 'By', description: 'Size of HTTP client request bodies.', slot: 1 },
      { name: 'http.client.response.body.size', unit: 'By', description: 'Size of HTTP client response bodies.', slot: 2 },
    ],
  },
  'rpc.server': {
    attrs: [ATTR_RPC_SYSTEM, ATTR_RPC_SERVICE, ATTR_RPC_METHOD, ATTR_RPC_GRPC_STATUS_CODE, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ERROR_TYPE],
    instruments: [{ name: 'rpc.server.call.duration', unit: 's', description: 'Duration of RPCs served.', slot: 0 }],
  },
  'rpc.client': {
    attrs: [ATTR_RPC_SYSTEM, ATTR_RPC_SERVICE, ATTR_RPC_METHOD, ATTR_RPC_GRPC_STATUS_CODE, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT, ATTR_ERROR_TYPE],
    instruments: [{ name: 'rpc.client.call.duration', unit: 's', description: 'Duration of RPCs made.', slot: 0 }],
  },
};
const FAMILY_NAMES = Object.keys(FAMILIES) as Family[];

/** Where a span's attribute keys put each of its family's metric attributes. */
interface Plan {
  readonly family: Family;
  /** Index into the span's values for each of FAMILIES[family].attrs; -1: the span has no such key. */
  readonly at: readonly number[];
  readonly requestSize: number;
  readonly responseSize: number;
}

interface Hist {
  explicit?: ExplicitHistogram;
  exponential?: ExponentialBuckets;
}

/** One attribute set of one family: its histograms, by slot. */
interface Series {
  readonly attributes: Attributes;
  readonly start: HrTime;
  readonly slots: [Hist, Hist, Hist];
}

interface ProcessSeries {
  readonly resource: Resource;
  readonly families: Map<Family, Map<string, Series>>;
  lastRecord: number;
}

/**
 * Where the last record of a plan went, and the values that chose it:
 * requests in a row mostly share their attribute set, and building its key
 * string for a map lookup was ~300 bytes and a hash per request.
 */
interface LastSeries {
  readonly process: ProcessSeries;
  readonly tls: boolean;
  /** The span's values at plan.at (undefined where -1). */
  readonly values: ReadonlyArray<AttributeValue | undefined>;
  readonly series: Series;
  /** It is the overflow series: each record into it is counted. */
  readonly overflow: boolean;
}

const hrSeconds = (start: HrTime, end: HrTime): number => Math.max(0, end[0] - start[0] + (end[1] - start[1]) / 1e9);
const nowHr = (): HrTime => {
  const ms = Date.now();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
};

export class RedMetrics {
  private readonly plans = new Map<readonly string[], Plan>();
  private readonly processes = new Map<Resource, ProcessSeries>();
  /** By plan; forgotten whenever collect() may drop a process (its series go with it). */
  private readonly last = new Map<Plan, LastSeries>();
  /** Records that went to an overflow series. */
  overflowed = 0;

  constructor(private readonly opts: RedMetricsOptions) {}

  /** Series kept now, over every process and family. */
  get series(): number {
    let n = 0;
    for (const p of this.processes.values()) for (const f of p.families.values()) n += f.size;
    return n;
  }

  record(span: SondeSpan, tls: boolean): void {
    const plan = this.planOf(span);
    const values = span.attributeValues;
    const series = this.sameAsLast(plan, span.resource, values, tls) ?? this.lookUp(plan, span.resource, values, tls);
    this.add(series.slots[0], hrSeconds(span.startTime, span.endTime), this.opts.durationBuckets);
    if (plan.requestSize >= 0 && typeof values[plan.requestSize] === 'number') this.add(series.slots[1], values[plan.requestSize] as number, this.opts.sizeBuckets);
    if (plan.responseSize >= 0 && typeof values[plan.responseSize] === 'number') this.add(series.slots[2], values[plan.responseSize] as number, this.opts.sizeBuckets);
  }

  /** The series of the plan's last record, if this one has the same resource, scheme and values (so the same key). */
  private sameAsLast(plan: Plan, resource: Resource, values: ReadonlyArray<AttributeValue | undefined>, tls: boolean): Series | undefined {
    const last = this.last.get(plan);
    if (last === undefined || last.process.resource !== resource || last.tls !== tls) return undefined;
    const at = plan.at;
    for (let k = 0; k < at.length; k++) {
      const i = at[k]!;
      if (i >= 0 && values[i] !== last.values[k]) return undefined;
    }
    last.process.lastRecord = Date.now();
    if (last.overflow) this.overflowed++;
    return last.series;
  }

  private lookUp(plan: Plan, resource: Resource, values: ReadonlyArray<AttributeValue | undefined>, tls: boolean): Series {
    let key = '';
    for (const i of plan.at) key += `${i < 0 ? '' : (values[i] ?? '')}\u001f`;
    if (tls) key += 's'; // url.scheme of a client request is not among its span's attributes
    const overflowedBefore = this.overflowed;
    const series = this.seriesOf(resource, plan, key, values, tls);
    this.last.set(plan, {
      process: this.processes.get(resource)!,
      tls,
      values: plan.at.map((i) => (i < 0 ? undefined : values[i])),
      series,
      overflow: this.overflowed !== overflowedBefore,
    });
    return series;
  }

  /** Every process's metrics, cumulative since its first record; processes idle past idleMs are dropped after this. */
  collect(kind: HistogramKind): ResourceMetrics[] {
    this.last.clear();
    const now = Date.now();
    const end = nowHr();
    const out: ResourceMetrics[] = [];
    for (const [resource, p] of this.processes) {
      const metrics: MetricData[] = [];
      for (const family of FAMILY_NAMES) {
        const series = p.families.get(family);
        if (!series || series.size === 0) continue;
        for (const inst of FAMILIES[family].instruments) {
          const m = this.metricOf(inst, series, kind, end);
          if (m) metrics.push(m);
        }
      }
      if (metrics.length > 0) out.push({ resource, scopeMetrics: [{ scope: SCOPE, metrics }] });
      if (now - p.lastRecord > this.opts.idleMs) this.processes.delete(resource);
    }
    return out;
  }

  private metricOf(inst: Instrument, series: Map<string, Series>, kind: HistogramKind, end: HrTime): MetricData | null {
    const descriptor = { name: inst.name, unit: inst.unit, description: inst.description, valueType: ValueType.DOUBLE };
    const aggregationTemporality = AggregationTemporality.CUMULATIVE;
    if (kind === 'exponential') {
      const dataPoints = [];
      for (const s of series.values()) {
        const h = s.slots[inst.slot].exponential;
        if (h) dataPoints.push({ attributes: s.attributes, startTime: s.start, endTime: end, value: h.snapshot() });
      }
      return dataPoints.length === 0 ? null : { descriptor, aggregationTemporality, dataPointType: DataPointType.EXPONENTIAL_HISTOGRAM, dataPoints };
    }
    const dataPoints = [];
    for (const s of series.values()) {
      const h = s.slots[inst.slot].explicit;
      if (h) dataPoints.push({ attributes: s.attributes, startTime: s.start, endTime: end, value: h.snapshot() });
    }
    return dataPoints.length === 0 ? null : { descriptor, aggregationTemporality, dataPointType: DataPointType.HISTOGRAM, dataPoints };
  }

  private add(h: Hist, value: number, buckets: readonly number[]): void {
    if (this.opts.kinds.has('explicit')) (h.explicit ??= new ExplicitHistogram(buckets)).record(value);
    if (this.opts.kinds.has('exponential')) (h.exponential ??= new ExponentialBuckets()).record(value);
  }

  private seriesOf(resource: Resource, plan: Plan, key: string, values: ReadonlyArray<AttributeValue | undefined>, tls: boolean): Series {
    let p = this.processes.get(resource);
    if (!p) this.processes.set(resource, (p = { resource, families: new Map(), lastRecord: 0 }));
    p.lastRecord = Date.now();
    let family = p.families.get(plan.family);
    if (!family) p.families.set(plan.family, (family = new Map()));
    let s = family.get(key);
    if (s) return s;
    let attributes: Attributes;
    if (family.size >= this.opts.maxSeries) {
      this.overflowed++;
      key = 'overflow';
      s = family.get(key);
      if (s) return s;
      attributes = { [ATTR_OTEL_METRIC_OVERFLOW]: true };
    } else {
      attributes = {};
      const names = FAMILIES[plan.family].attrs;
      plan.at.forEach((i, k) => {
        const v = i < 0 ? undefined : values[i];
        if (v !== undefined) attributes[names[k]!] = v;
      });
      if (plan.family === 'http.client') attributes[ATTR_URL_SCHEME] = tls ? 'https' : 'http';
    }
    s = { attributes, start: nowHr(), slots: [{}, {}, {}] };
    family.set(key, s);
    return s;
  }

  private planOf(span: SondeSpan): Plan {
    const keys = span.attributeKeys;
    let plan = this.plans.get(keys);
    if (plan !== undefined) return plan;
    const server = span.kind === SpanKind.SERVER;
    const family: Family = keys.includes(ATTR_RPC_SYSTEM) ? (server ? 'rpc.server' : 'rpc.client') : server ? 'http.server' : 'http.client';
    const http = family.startsWith('http');
    plan = {
      family,
      at: FAMILIES[family].attrs.map((a) => keys.indexOf(a)),
      requestSize: http ? keys.indexOf(ATTR_HTTP_REQUEST_BODY_SIZE) : -1,
      responseSize: http ? keys.indexOf(ATTR_HTTP_RESPONSE_BODY_SIZE) : -1,
    };
    this.plans.set(keys, plan);
    return plan;
  }
}
