/**
 * A finished span as the OpenTelemetry SDK's ReadableSpan, without the
 * SDK's per-span closures and bookkeeping: Sonde makes spans after the
 * fact, thousands a second, and never mutates them. Its ids stay bytes
 * and its attributes two arrays (keys shared by every span of a kind,
 * values its own) for the OTLP encoder to write as they are; the hex
 * SpanContext and the attributes object are made only when asked for.
 */
import { TraceFlags, type AttributeValue, type Attributes, type HrTime, type Link, type SpanContext, type SpanKind, type SpanStatus, type TraceState } from '@opentelemetry/api';
import { hrTimeDuration } from '@opentelemetry/core';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';
import { hexOf, SPAN_ID_BYTES, TRACE_ID_BYTES } from './SpanIds.js';

const NO_LINKS: Link[] = [];
const NO_EVENTS: TimedEvent[] = [];

export class SondeSpan implements ReadableSpan {
  readonly links = NO_LINKS;
  readonly events = NO_EVENTS;
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private context: SpanContext | undefined = undefined;
  private attributesObject: Attributes | undefined = undefined;

  /**
   * `ids` holds the trace id then the span id (ID_BYTES) from `idOffset`;
   * `attributeValues[i]` is the value of `attributeKeys[i]`, if defined.
   * The trace flags and state are the incoming trace's (traceContext.ts).
   */
  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    readonly ids: Uint8Array,
    readonly idOffset: number,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly status: SpanStatus,
    readonly attributeKeys: readonly string[],
    readonly attributeValues: ReadonlyArray<AttributeValue | undefined>,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
    readonly traceFlags: number = TraceFlags.SAMPLED,
    readonly traceState: TraceState | undefined = undefined,
  ) {}

  spanContext(): SpanContext {
    this.context ??= {
      traceId: hexOf(this.ids, this.idOffset, TRACE_ID_BYTES),
      spanId: hexOf(this.ids, this.idOffset + TRACE_ID_BYTES, SPAN_ID_BYTES),
      traceFlags: this.traceFlags,
      ...(this.traceState ? { traceState: this.traceState } : {}),
    };
    return this.context;
  }

  get attributes(): Attributes {
    if (this.attributesObject === undefined) {
      const a: Attributes = {};
      for (let i = 0; i < this.attributeKeys.length; i++) if (this.attributeValues[i] !== undefined) a[this.attributeKeys[i]!] = this.attributeValues[i];
      this.attributesObject = a;
    }
    return this.attributesObject;
  }

  get duration(): HrTime {
    return hrTimeDuration(this.startTime, this.endTime);
  }
}
