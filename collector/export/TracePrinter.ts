/**
 * Spans on stdout (OTEL_EBPF_TRACE_PRINTER): `text`, one readable line per
 * span for people; `json`, one JSON object per line for programs, with
 * kinds as names, times as decimal-string nanoseconds (exact beyond 2^53)
 * and attributes as plain JSON values.
 *
 * Writes to a pipe queue in memory while the reader is slow; a reader that
 * stops reading would grow that queue without end. Past MAX_PENDING_BYTES
 * not yet written, spans are dropped and counted instead.
 */
import type { Writable } from 'node:stream';
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
    ...(ctx.traceState ? { traceState: ctx.traceState.serialize() } : {}),
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

/** Output not yet taken by the reader, past which spans are dropped: a few thousand spans. */
export const MAX_PENDING_BYTES = 4 << 20;
/** How long shutdown waits for a slow reader before giving up on what is left. */
const SHUTDOWN_WAIT_MS = 2000;

export class TracePrinter implements SpanSink {
  readonly stats: ExportStats = { exported: 0, failed: 0, dropped: 0, lastError: null };
  private readonly format: (s: ReadableSpan) => string;
  private pendingSpans = 0;
  /** Shutdown stopped waiting: what is still pending was counted as dropped. */
  private gaveUp = false;

  constructor(
    format: PrinterFormat,
    private readonly out: Writable = process.stdout,
  ) {
    this.format = format === 'json' ? spanToJson : spanToText;
    out.on('error', (err: Error) => {
      this.stats.lastError = err.message;
    });
  }

  readonly capacity = 0;

  get queued(): number {
    return this.pendingSpans;
  }

  emit(spans: readonly ReadableSpan[]): void {
    if (spans.length === 0) return;
    if (this.out.writableLength > MAX_PENDING_BYTES || this.out.destroyed || this.out.writableEnded) {
      this.stats.dropped += spans.length;
      return;
    }
    let text = '';
    for (const s of spans) text += `${this.format(s)}\n`;
    const n = spans.length;
    this.pendingSpans += n;
    this.out.write(text, (err) => {
      if (this.gaveUp) return;
      this.pendingSpans -= n;
      if (err) this.stats.failed += n;
      else this.stats.exported += n;
    });
  }

  async flush(): Promise<void> {
    if (this.pendingSpans === 0 || this.out.destroyed) return;
    await new Promise<void>((resolve) => this.out.write('', () => resolve()));
  }

  /** Waits for the reader to take what is pending, but not forever. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.flush(),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (this.pendingSpans > 0) {
      this.gaveUp = true;
      this.stats.dropped += this.pendingSpans;
      this.pendingSpans = 0;
    }
  }
}
