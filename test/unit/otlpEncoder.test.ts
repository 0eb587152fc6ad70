/**
 * Sonde's OTLP encoder against the OpenTelemetry JS serializer: both
 * outputs, decoded with the opentelemetry-proto messages, must say the
 * same thing, span for span.
 */
import { join } from 'node:path';
import { SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { encodeSpans, SpanEncoder, encodeBatch } from '../../collector/export/otlpEncoder.js';
import { SondeSpan } from '../../collector/spans/SondeSpan.js';

const root = protobuf.loadSync(join(import.meta.dirname, '../fixtures/otlp/trace.proto'));
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const SCOPE = { name: 'sonde', version: '0.1.0' };
const decode = (b: Uint8Array): unknown => Request.toObject(Request.decode(b), { longs: String, bytes: String, enums: Number, defaults: true });

function span(i: number, over: Partial<ReadableSpan> = {}): ReadableSpan {
  const ctx = { traceId: `${'ab'.repeat(15)}${(i % 256).toString(16).padStart(2, '0')}`, spanId: `00000000000000${(i % 256).toString(16).padStart(2, '0')}`, traceFlags: TraceFlags.SAMPLED };
  return {
    name: i % 3 ? 'GET' : 'HTTP',
    kind: i % 2 ? SpanKind.SERVER : SpanKind.CLIENT,
    spanContext: () => ctx,
    parentSpanContext: undefined,
    startTime: [1_795_000_000 + i, 123_456_789],
    endTime: [1_795_000_000 + i, 987_654_321],
    duration: [0, 864_197_532],
    status: i % 4 === 0 ? { code: SpanStatusCode.ERROR, message: 'ü broken' } : { code: SpanStatusCode.UNSET },
    attributes: {
      'http.request.method': 'GET',
      'url.path': `/items/${i}/ünïcode`,
      'http.response.status_code': 200 + i,
      'network.peer.port': 65535,
      'http.request.body.size': 0,
      'a.negative': -42,
      'a.double': 1.5,
      'a.bool': i % 2 === 0,
      'a.list': ['x', 'y'],
    },
    links: [],
    events: [],
    ended: true,
    resource: resourceFromAttributes({ 'service.name': `svc-${i % 2}`, 'process.pid': 1000 + (i % 2) }),
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
    ...over,
  };
}

describe('OTLP encoder', () => {
  it('says what the OpenTelemetry serializer says', () => {
    const resources = [resourceFromAttributes({ 'service.name': 'a', 'process.pid': 1 }), resourceFromAttributes({ 'service.name': 'b' })];
    const spans = Array.from({ length: 40 }, (_, i) => span(i, { resource: resources[i % 2]! }));
    spans[5] = span(5, {
      resource: resources[1]!,
      parentSpanContext: { traceId: 'ab'.repeat(16), spanId: '1234567890abcdef', traceFlags: 1, isRemote: true },
    });
    const ours = decode(encodeSpans(spans));
    const theirs = decode(ProtobufTraceSerializer.serializeRequest(spans)!);
    expect(ours).toEqual(theirs);
  });

  it('a batch taken from the encoder keeps its bytes while the next fills', () => {
    const enc = new SpanEncoder();
    enc.add(span(1));
    const first = enc.take();
    const bytes = Uint8Array.from(encodeBatch(first));
    for (let i = 2; i < 200; i++) enc.add(span(i));
    expect(encodeBatch(first)).toEqual(bytes);
    expect(first.count).toBe(1);
    expect(enc.count).toBe(198);
    expect(decode(encodeBatch(enc.take()))).toEqual(decode(ProtobufTraceSerializer.serializeRequest(Array.from({ length: 198 }, (_, i) => span(i + 2)))!));
  });

  it('spans of every size: under 128 bytes, over 16 KiB, over a whole chunk', () => {
    const big = (n: number): string => 'é'.repeat(n / 2);
    const spans = [
      span(1, { name: '', attributes: {}, status: { code: SpanStatusCode.UNSET } }),
      span(2, { attributes: { 'a.big': big(20_000) } }),
      span(3),
      span(4, { attributes: { 'a.huge': big(200_000), 'url.path': '/' } }),
      span(5, { startTime: [0, 1], endTime: [4_102_444_800, 999_999_999] }),
      ...Array.from({ length: 300 }, (_, i) => span(6 + i, { attributes: { 'a.mid': big(300 + i * 7) } })),
    ];
    expect(decode(encodeSpans(spans))).toEqual(decode(ProtobufTraceSerializer.serializeRequest(spans)!));
  });

  it("a SondeSpan's byte ids encode as its hex context says", () => {
    const ids = Uint8Array.from({ length: 48 }, (_, i) => (i * 37 + 11) & 0xff);
    const base = span(1);
    const spans = [0, 24].map(
      (off) => new SondeSpan('GET', SpanKind.SERVER, ids, off, undefined, base.startTime, base.endTime, base.status, Object.keys(base.attributes), Object.values(base.attributes), base.resource, SCOPE),
    );
    expect(spans[1]!.spanContext().spanId).toBe(Buffer.from(ids.subarray(40, 48)).toString('hex'));
    expect(decode(encodeSpans(spans))).toEqual(decode(ProtobufTraceSerializer.serializeRequest(spans)!));
  });
});
