/**
 * Self-test of test/helpers/jaeger.ts against a real Jaeger v2: one span sent
 * by the OpenTelemetry SDK's OTLP/gRPC exporter and one by its OTLP
 * http/protobuf exporter, each read back through the query API.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import { SpanKind, SpanStatusCode, context, trace, TraceFlags, type HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { jaegerBinary, services, startJaeger, waitForSpans, type Jaeger } from '../helpers/jaeger.js';

let jaeger: Jaeger | undefined;

function j(): Jaeger {
  if (!jaeger) throw new Error('Jaeger did not start');
  return jaeger;
}

beforeAll(async () => {
  // On a cold machine this builds Jaeger from the Go module proxy (minutes).
  const binary = await jaegerBinary();
  jaeger = await startJaeger({ binary });
}, 15 * 60_000);

afterAll(async () => {
  await jaeger?.stop();
});

interface Sent {
  span: ReadableSpan;
  traceId: string;
  parentSpanId: string;
  startUnixNano: bigint;
  durationNs: bigint;
}

/**
 * Makes one finished SERVER span with exact times, a remote parent and an
 * error status, via the real SDK (so the exporters get genuine ReadableSpans).
 */
async function makeSpan(service: string, name: string): Promise<Sent> {
  const memory = new InMemorySpanExporter();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': service, 'host.cpu.count': 2 }),
    spanProcessors: [new SimpleSpanProcessor({ exporter: memory })],
  });
  const traceId = randomBytes(16).toString('hex');
  const parentSpanId = randomBytes(8).toString('hex');
  const parent = trace.setSpanContext(context.active(), {
    traceId,
    spanId: parentSpanId,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const sec = Math.floor(Date.now() / 1000) - 1;
  const start: HrTime = [sec, 100_000_000];
  const end: HrTime = [sec, 101_234_567]; // 1.234567 ms later
  const span = provider.getTracer('sonde-test', '1.2.3').startSpan(
    name,
    {
      kind: SpanKind.SERVER,
      startTime: start,
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 503,
        'sonde.test.ratio': 0.25,
        'sonde.test.flag': true,
      },
    },
    parent,
  );
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'upstream down' });
  span.end(end);
  await provider.forceFlush();
  const finished = memory.getFinishedSpans();
  await provider.shutdown();
  const only = finished[0];
  if (finished.length !== 1 || !only) throw new Error(`expected one finished span, got ${finished.length}`);
  return {
    span: only,
    traceId,
    parentSpanId,
    startUnixNano: BigInt(sec) * 1_000_000_000n + 100_000_000n,
    durationNs: 1_234_567n,
  };
}

async function exportOne(exporter: SpanExporter, span: ReadableSpan): Promise<ExportResult> {
  try {
    return await new Promise<ExportResult>((resolve) => exporter.export([span], resolve));
  } finally {
    await exporter.shutdown();
  }
}

async function roundTrip(exporter: SpanExporter, service: string, name: string): Promise<void> {
  const sent = await makeSpan(service, name);
  const result = await exportOne(exporter, sent.span);
  expect(result.error?.message).toBeUndefined();
  expect(result.code).toBe(ExportResultCode.SUCCESS);

  const [got, ...more] = await waitForSpans(j(), service, (s) => s.name === name, 1, 15_000);
  expect(more).toHaveLength(0);
  expect(got).toBeDefined();
  if (!got) return;
  expect(got.traceId).toBe(sent.traceId);
  expect(got.spanId).toBe(sent.span.spanContext().spanId);
  expect(got.parentSpanId).toBe(sent.parentSpanId);
  expect(got.kind).toBe('SERVER');
  expect(got.startUnixNano).toBe(sent.startUnixNano);
  expect(got.durationNs).toBe(sent.durationNs);
  expect(got.attributes).toMatchObject({
    'http.request.method': 'GET',
    'http.response.status_code': 503, // an int64 attribute, as a number
    'sonde.test.ratio': 0.25,
    'sonde.test.flag': true,
  });
  expect(got.resource['service.name']).toBe(service);
  expect(got.resource['host.cpu.count']).toBe(2);
  expect(got.scope).toEqual({ name: 'sonde-test', version: '1.2.3' });
  expect(got.status).toEqual({ code: 'ERROR', message: 'upstream down' });
  expect(await services(j())).toContain(service);
}

describe('Jaeger test helper (real Jaeger v2)', () => {
  it('answers the query API on loopback ports of its own', async () => {
    const ports = [j().otlpGrpcEndpoint, j().otlpHttpEndpoint, j().queryUrl].map((u) => new URL(u));
    for (const u of ports) expect(u.hostname).toBe('127.0.0.1');
    expect(new Set(ports.map((u) => u.port)).size).toBe(3);
    expect(Array.isArray(await services(j()))).toBe(true);
  });

  it('reads back a span sent over OTLP/gRPC', async () => {
    await roundTrip(new GrpcExporter({ url: j().otlpGrpcEndpoint }), 'sonde-e2e-grpc', 'GET /over-grpc');
  });

  it('reads back a span sent over OTLP http/protobuf', async () => {
    await roundTrip(
      new ProtoExporter({ url: `${j().otlpHttpEndpoint}/v1/traces` }),
      'sonde-e2e-proto',
      'GET /over-proto',
    );
  });
});
