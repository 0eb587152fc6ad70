/**
 * The OTLP trace exporter the configuration asks for. Protocol and
 * endpoint follow the OpenTelemetry specification: the signal-specific
 * endpoint is used as given; the generic one gets "/v1/traces" appended
 * for http/protobuf; without an explicit protocol, port 4317 means gRPC
 * and anything else http/protobuf (the specification's default).
 */
import { Metadata } from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { Config } from '../../config/schema.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf';

export interface OtlpTarget {
  readonly protocol: OtlpProtocol;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

export function resolveOtlpTarget(c: Config['otel_traces_export']): OtlpTarget | null {
  const base = c.traces_endpoint ?? c.endpoint;
  if (base === undefined) return null;
  let protocol: OtlpProtocol = c.protocol ?? 'http/protobuf';
  if (c.protocol === undefined) {
    const port = new URL(base).port;
    if (port === '4317') protocol = 'grpc';
  }
  let url = base;
  if (c.traces_endpoint === undefined && protocol === 'http/protobuf') {
    url = `${base.replace(/\/+$/, '')}/v1/traces`;
  }
  return { protocol, url, headers: c.headers };
}

export function createOtlpExporter(t: OtlpTarget, timeoutMillis: number): SpanExporter {
  if (t.protocol === 'grpc') {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(t.headers)) metadata.set(k, v);
    return new GrpcTraceExporter({ url: t.url, metadata, timeoutMillis });
  }
  return new ProtoTraceExporter({ url: t.url, headers: { ...t.headers }, timeoutMillis });
}
