/**
 * OpenTelemetry metrics in the Prometheus text exposition format (0.0.4),
 * named as the OpenTelemetry-to-Prometheus compatibility rules say:
 * dots to underscores, the unit as a suffix (s → _seconds, By → _bytes),
 * _total on counters, histograms as _bucket/_sum/_count. Every service's
 * series carry job (service.namespace/service.name), instance
 * (service.instance.id) and service_name; its other resource attributes
 * are in one target_info series, to join on.
 *
 * Hand-written because the SDK's PrometheusExporter serves one resource
 * per endpoint, and Sonde serves every traced process on one endpoint:
 * families must be merged across resources, each named once.
 */
import type { AttributeValue, Attributes } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

interface Family {
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly help: string;
  readonly lines: string[];
  /** Label sets already written: a process re-executed, or a recycled pid, must not repeat a series (Prometheus rejects the scrape). */
  readonly seen: Set<string>;
}

const UNIT_SUFFIX: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes', KiBy: 'kibibytes', MiBy: 'mebibytes' };

/** A metric or label name: anything outside [a-zA-Z0-9_:] becomes "_", and it may not start with a digit. */
export function sanitizeName(name: string, colons = true): string {
  const s = name.replace(colons ? /[^a-zA-Z0-9_:]/g : /[^a-zA-Z0-9_]/g, '_').replace(/__+/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** The Prometheus name of an OpenTelemetry metric. */
export function prometheusName(m: MetricData): string {
  let name = sanitizeName(m.descriptor.name);
  const unit = m.descriptor.unit.replace(/\{[^}]*\}/g, '');
  const suffix = UNIT_SUFFIX[unit] ?? (unit === '1' ? (m.dataPointType === DataPointType.GAUGE ? 'ratio' : '') : sanitizeName(unit, false));
  if (suffix && !name.endsWith(`_${suffix}`)) name += `_${suffix}`;
  if (m.dataPointType === DataPointType.SUM && m.isMonotonic && !name.endsWith('_total')) name += '_total';
  return name;
}

const escapeValue = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labelValue = (v: AttributeValue): string => (typeof v === 'string' ? v : Array.isArray(v) ? JSON.stringify(v) : String(v));

function labels(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.length === 0 ? '' : `{${pairs.map(([k, v]) => `${k}="${escapeValue(v)}"`).join(',')}}`;
}

function number(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return Number.isNaN(n) ? 'NaN' : String(n);
}

/** job, instance and service_name of a resource, for every series it has. */
function serviceLabels(resource: Resource): Array<[string, string]> {
  const a = resource.attributes;
  const name = a['service.name'] === undefined ? '' : labelValue(a['service.name']);
  const ns = a['service.namespace'] === undefined ? '' : labelValue(a['service.namespace']);
  const out: Array<[string, string]> = [['job', ns ? `${ns}/${name}` : name]];
  if (a['service.instance.id'] !== undefined) out.push(['instance', labelValue(a['service.instance.id'])]);
  out.push(['service_name', name]);
  return out;
}

function attributeLabels(attributes: Attributes): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(attributes)) if (v !== undefined && v !== null) out.push([sanitizeName(k, false), labelValue(v)]);
  return out;
}

function family(families: Map<string, Family>, name: string, type: Family['type'], help: string): Family {
  let f = families.get(name);
  if (!f) families.set(name, (f = { type, help, lines: [], seen: new Set() }));
  return f;
}

function addMetric(families: Map<string, Family>, m: MetricData, service: Array<[string, string]>): void {
  const name = prometheusName(m);
  switch (m.dataPointType) {
    case DataPointType.HISTOGRAM: {
      const f = family(families, name, 'histogram', m.descriptor.description);
      for (const p of m.dataPoints) {
        const base = [...service, ...attributeLabels(p.attributes)];
        if (!firstTime(f, labels(base))) continue;
        const { boundaries, counts } = p.value.buckets;
        let cumulative = 0;
        for (let i = 0; i < boundaries.length; i++) {
          cumulative += counts[i] ?? 0;
          f.lines.push(`${name}_bucket${labels([...base, ['le', number(boundaries[i]!)]])} ${cumulative}`);
        }
        f.lines.push(`${name}_bucket${labels([...base, ['le', '+Inf']])} ${p.value.count}`);
        f.lines.push(`${name}_sum${labels(base)} ${number(p.value.sum ?? 0)}`);
        f.lines.push(`${name}_count${labels(base)} ${p.value.count}`);
      }
      return;
    }
    case DataPointType.SUM:
    case DataPointType.GAUGE: {
      const counter = m.dataPointType === DataPointType.SUM && m.isMonotonic;
      const f = family(families, name, counter ? 'counter' : 'gauge', m.descriptor.description);
      for (const p of m.dataPoints) {
        const l = labels([...service, ...attributeLabels(p.attributes)]);
        if (firstTime(f, l)) f.lines.push(`${name}${l} ${number(p.value)}`);
      }
      return;
    }
    case DataPointType.EXPONENTIAL_HISTOGRAM:
      return; // the text format has no exponential histograms; Prometheus outputs keep explicit buckets
  }
}

function firstTime(f: Family, labelText: string): boolean {
  if (f.seen.has(labelText)) return false;
  f.seen.add(labelText);
  return true;
}

/** target_info's labels: job, instance, and the resource attributes they do not already say. */
function targetInfo(resource: Resource, service: Array<[string, string]>): string {
  const pairs: Array<[string, string]> = service.filter(([k]) => k !== 'service_name');
  for (const [k, v] of Object.entries(resource.attributes)) {
    if (v === undefined || v === null || k === 'service.name' || k === 'service.namespace' || k === 'service.instance.id') continue;
    pairs.push([sanitizeName(k, false), labelValue(v)]);
  }
  return labels(pairs);
}

export function prometheusText(all: readonly ResourceMetrics[]): string {
  const families = new Map<string, Family>();
  const info = family(families, 'target_info', 'gauge', 'Target metadata');
  for (const rm of all) {
    const service = serviceLabels(rm.resource);
    const infoLabels = targetInfo(rm.resource, service);
    if (firstTime(info, infoLabels)) info.lines.push(`target_info${infoLabels} 1`);
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) addMetric(families, m, service);
  }
  let out = '';
  for (const [name, f] of families) {
    if (f.lines.length === 0) continue;
    out += `# HELP ${name} ${f.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${f.type}\n${f.lines.join('\n')}\n`;
  }
  return out;
}
