/** Incoming W3C Trace Context: spans join the trace a request carries. */
import { SpanKind, TraceFlags } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import type { ObservedTransaction } from '../../collector/conn/ConnectionTracker.js';
import { decodeExport } from '../helpers/otlpReceiver.js';
import { encodeSpans } from '../../collector/export/otlpEncoder.js';
import { buildSpan } from '../../collector/spans/buildSpan.js';
import { sampled } from '../../collector/spans/traceContext.js';
import type { Header, HttpTransaction } from '../../protocols/types.js';

const resource = resourceFromAttributes({ 'service.name': 'shop' });
const opts = { urlQuery: false, toHrTime: (ns: number): [number, number] => [1_700_000_000, ns] };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

function observed(role: 'client' | 'server', headers: Header[], protocol = 'HTTP/1.1'): ObservedTransaction {
  const tx: HttpTransaction = {
    protocol,
    method: 'GET',
    target: '/a',
    requestHeaders: [['host', 'shop:80'], ...headers],
    requestBodySize: 0,
    requestStart: 1000,
    requestEnd: 2000,
    status: 200,
    responseHeaders: [],
    responseBodySize: 0,
    responseStart: 3000,
    responseEnd: 4000,
    truncated: false,
  };
  const endpoints = { networkType: 'ipv4', local: { address: '10.0.0.1', port: 80 }, remote: { address: '10.0.0.2', port: 5000 } } as const;
  return { tx, sock: 1n, pid: 1, role, endpoints, tls: false, exchange: undefined, mirrored: false };
}

describe('incoming trace context', () => {
  it('a SERVER span with a traceparent is the child of the remote parent, in its trace', () => {
    const span = buildSpan(observed('server', [['traceparent', `00-${TRACE}-${PARENT}-01`]]), resource, opts);
    expect(span.kind).toBe(SpanKind.SERVER);
    expect(span.spanContext().traceId).toBe(TRACE);
    expect(span.spanContext().spanId).not.toBe(PARENT);
    expect(span.parentSpanContext).toMatchObject({ traceId: TRACE, spanId: PARENT, isRemote: true });
    expect(sampled(span)).toBe(true);
  });

  it('HTTP/2 and gRPC carry it the same way (lower-case header fields, metadata)', () => {
    const span = buildSpan(observed('server', [[':authority', 'shop'], ['content-type', 'application/grpc'], ['traceparent', `00-${TRACE}-${PARENT}-01`]], 'HTTP/2'), resource, opts);
    expect(span.spanContext().traceId).toBe(TRACE);
    expect(span.parentSpanContext?.spanId).toBe(PARENT);
  });

  it('a CLIENT span takes the trace id and, as its own id, the parent id it hands downstream', () => {
    const span = buildSpan(observed('client', [['traceparent', `00-${TRACE}-${PARENT}-01`]]), resource, opts);
    expect(span.spanContext()).toMatchObject({ traceId: TRACE, spanId: PARENT });
    expect(span.parentSpanContext).toBeUndefined();
  });

  it("the parent's sampled flag is kept: a span of an unsampled trace is not to be exported", () => {
    const span = buildSpan(observed('server', [['traceparent', `00-${TRACE}-${PARENT}-00`]]), resource, opts);
    expect(span.spanContext().traceFlags).toBe(TraceFlags.NONE);
    expect(sampled(span)).toBe(false);
  });

  it('tracestate goes with it, and into OTLP', () => {
    const span = buildSpan(observed('server', [['traceparent', `00-${TRACE}-${PARENT}-01`], ['tracestate', 'vendor=abc,other=1']]), resource, opts);
    expect(span.spanContext().traceState?.serialize()).toBe('vendor=abc,other=1');
    const [decoded] = decodeExport(encodeSpans([span]));
    expect(decoded).toMatchObject({ traceId: TRACE, parentSpanId: PARENT, traceState: 'vendor=abc,other=1' });
    // Sampled, and the parent is remote (OTLP SpanFlags 0x300 | W3C flags).
    expect(decoded!.flags).toBe(0x301);
  });

  it.each([
    ['no header', null],
    ['version ff', `ff-${TRACE}-${PARENT}-01`],
    ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`],
    ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`],
    ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`],
    ['version 00 with more fields', `00-${TRACE}-${PARENT}-01-extra`],
    ['too short', `00-${TRACE.slice(2)}-${PARENT}-01`],
  ])('an invalid traceparent (%s) is ignored: a new trace, sampled', (_why, value) => {
    const span = buildSpan(observed('server', value === null ? [] : [['traceparent', value]]), resource, opts);
    expect(span.spanContext().traceId).not.toBe(TRACE);
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.parentSpanContext).toBeUndefined();
    expect(sampled(span)).toBe(true);
  });

  it('a later version with more fields is read for what version 00 defines', () => {
    const span = buildSpan(observed('server', [['traceparent', `01-${TRACE}-${PARENT}-01-more`]]), resource, opts);
    expect(span.spanContext().traceId).toBe(TRACE);
  });
});
