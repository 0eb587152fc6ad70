/**
 * A finished span as the OpenTelemetry SDK's ReadableSpan, without the
 * SDK's per-span closures and bookkeeping: Sonde makes spans after the
 * fact, thousands a second, and never mutates them.
 */
import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from '@opentelemetry/api';
import { hrTimeDuration } from '@opentelemetry/core';
import type { InstrumentationScope } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, TimedEvent } from '@opentelemetry/sdk-trace';

const NO_LINKS: Link[] = [];
const NO_EVENTS: TimedEvent[] = [];

export class SondeSpan implements ReadableSpan {
  readonly links = NO_LINKS;
  readonly events = NO_EVENTS;
  readonly ended = true;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;

  constructor(
    readonly name: string,
    readonly kind: SpanKind,
    private readonly context: SpanContext,
    readonly parentSpanContext: SpanContext | undefined,
    readonly startTime: HrTime,
    readonly endTime: HrTime,
    readonly status: SpanStatus,
    readonly attributes: Attributes,
    readonly resource: Resource,
    readonly instrumentationScope: InstrumentationScope,
  ) {}

  spanContext(): SpanContext {
    return this.context;
  }

  get duration(): HrTime {
    return hrTimeDuration(this.startTime, this.endTime);
  }
}
