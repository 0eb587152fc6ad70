/**
 * Spans on stdout (OTEL_EBPF_TRACE_PRINTER): `text`, one readable line per
 * span for people; `json`, one JSON object per line for programs, with
 * kinds as names, times as decimal-string nanoseconds (exact beyond 2^53)
 * and attributes as plain JSON values.
 */
import { SpanKind, SpanStatusCode, type AttributeValue, type Attributes, type HrTime } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ExportStats, SpanSink } from './SpanSink.js';

export type PrinterFormat = 'text' | 'json';

const KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'] as const;
const STATUS = { [SpanStatusCode.UNSET]: 'UNSET', [SpanStatusCode.OK]: 'OK', [SpanStatusCode.ERROR]: 'ERROR' } as const;

function nanos(t: HrTime): string {
  return (BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])).toString();
}

function plain(attrs: Attributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) out[k] = v;
  return out;
}

export function spanToJson(span: ReadableSpan): string {
  const ctx = span.spanContext();
  return JSON.stringify({
    name: span.name,
    kind: KIND[span.kind] ?? 'INTERNAL',
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: span.parentSpanContext?.spanId ?? '',
    startTimeUnixNano: nanos(span.startTime),
    endTimeUnixNano: nanos(span.endTime),
    status: { code: STATUS[span.status.code], ...(span.status.message ? { message: span.status.message } : {}) },
    attributes: plain(span.attributes),
    resource: plain(span.resource.attributes),
  });
}

export function spanToText(span: ReadableSpan): string {
  const a = span.attributes;
  const r = span.resource.attributes;
  const time = new Date(span.startTime[0] * 1000 + span.startTime[1] / 1e6).toISOString().slice(11, 23);
  const ms = (span.duration[0] * 1e3 + span.duration[1] / 1e6).toFixed(3);
  const what = span.kind === SpanKind.CLIENT ? a['url.full'] : a['url.path'];
  const peer = `${String(a['network.peer.address'])}:${String(a['network.peer.port'])}`;
  const err = span.status.code === SpanStatusCode.ERROR ? ' ERROR' : '';
  return `${time} ${KIND[span.kind]!.padEnd(6)} ${String(r['service.name'])}[${String(r['process.pid'])}] ${String(a['http.request.method'])} ${String(what)} -> ${String(a['http.response.status_code'])}${err} ${ms}ms peer ${peer}`;
}

export class TracePrinter implements SpanSink {
  readonly stats: ExportStats = { exported: 0, failed: 0, dropped: 0, lastError: null };
  readonly queued = 0;
  private readonly format: (s: ReadableSpan) => string;

  constructor(
    format: PrinterFormat,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    this.format = format === 'json' ? spanToJson : spanToText;
  }

  emit(spans: readonly ReadableSpan[]): void {
    if (spans.length === 0) return;
    let text = '';
    for (const s of spans) text += `${this.format(s)}\n`;
    this.out.write(text);
    this.stats.exported += spans.length;
  }

  async flush(): Promise<void> {}

  async shutdown(): Promise<void> {}
}
