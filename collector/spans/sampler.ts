/**
 * Head sampling as OTEL_TRACES_SAMPLER names it: always_on, always_off,
 * traceidratio (a share of traces, decided by the trace id so every span
 * of a trace, on every host that uses the same rule, decides alike), and
 * parentbased_* (a trace begun upstream keeps the caller's decision, from
 * its traceparent; a trace begun here uses the named root sampler). A
 * trace begun here is decided once per trace id, so a chain of spans
 * within this host is kept or dropped whole. Metrics count every request
 * regardless.
 */
import { TraceFlags } from '@opentelemetry/api';
import { TRACE_ID_BYTES } from './SpanIds.js';

export type SamplerName = 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';

export interface SamplerConfig {
  readonly name: SamplerName;
  /** traceidratio's share of traces, 0 to 1. */
  readonly arg?: number | undefined;
}

export interface Sampler {
  /** The trace flags of a span: `upstream` is what its traceparent said, when the trace came with one. */
  flags(ids: Uint8Array, offset: number, upstream: number | undefined): number;
}

/** The randomness of a trace id: its last 7 bytes (56 bits), as W3C Trace Context level 2 has them random. */
function randomness(ids: Uint8Array, offset: number): number {
  let r = 0;
  for (let i = TRACE_ID_BYTES - 7; i < TRACE_ID_BYTES; i++) r = r * 256 + ids[offset + i]!;
  return r;
}

const TWO_56 = 2 ** 56;

export function createSampler(c: SamplerConfig): Sampler {
  const ratio = c.arg ?? 1;
  const threshold = Math.min(1, Math.max(0, ratio)) * TWO_56;
  const root: (ids: Uint8Array, offset: number) => boolean = c.name.endsWith('always_on')
    ? () => true
    : c.name.endsWith('always_off')
      ? () => false
      : (ids, offset) => randomness(ids, offset) < threshold;
  const parentBased = c.name.startsWith('parentbased_');
  return {
    flags(ids, offset, upstream) {
      if (parentBased && upstream !== undefined) return upstream;
      const keep = root(ids, offset);
      return keep ? (upstream ?? TraceFlags.NONE) | TraceFlags.SAMPLED : (upstream ?? TraceFlags.NONE) & ~TraceFlags.SAMPLED;
    },
  };
}

/** The specification's default. */
export const PARENT_BASED_ALWAYS_ON = createSampler({ name: 'parentbased_always_on' });
