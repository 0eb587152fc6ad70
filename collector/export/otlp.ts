/**
 * The OTLP trace exporter the configuration asks for. Protocol and
 * endpoint follow the OpenTelemetry specification: the signal-specific
 * endpoint is used as given; the generic one gets "/v1/traces" appended
 * for http/protobuf; without an explicit protocol, port 4317 means gRPC
 * and anything else http/protobuf (the specification's default).
 *
 * Transport, retries, timeouts and headers are the OpenTelemetry
 * exporters' own; the request body is Sonde's (otlpEncoder.ts).
 */
import { Metadata } from '@grpc/grpc-js';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { ProtobufTraceSerializer, type IExporterMetricsHelper, type IExportTraceServiceResponse, type ISerializer } from '@opentelemetry/otlp-transformer';
import type { Config } from '../../config/schema.js';
import { encodeBatch, type EncodedBatch } from './otlpEncoder.js';
import type { BatchExporter } from './OtlpSpanQueue.js';

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

const serializer: ISerializer<EncodedBatch, IExportTraceServiceResponse> = {
  serializeRequest: encodeBatch,
  deserializeResponse: (data) => ProtobufTraceSerializer.deserializeResponse(data),
};

/** For the exporters' own telemetry: how many spans a request carries. */
const metricsHelper: IExporterMetricsHelper<EncodedBatch> = { name: 'span', countItems: (b) => b.count };

export function createOtlpExporter(t: OtlpTarget, timeoutMillis: number): BatchExporter {
  if (t.protocol === 'grpc') {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(t.headers)) metadata.set(k, v);
    return new OTLPExporterBase(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions({ url: t.url, metadata, timeoutMillis }, 'TRACES'),
        serializer,
        'otlp_grpc_span_exporter',
        metricsHelper,
        undefined,
        'TraceExportService',
        '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      ),
    );
  }
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({ url: t.url, headers: { ...t.headers }, timeoutMillis }, 'TRACES', 'v1/traces', {
        'Content-Type': 'application/x-protobuf',
      }),
      serializer,
      'otlp_http_span_exporter',
      metricsHelper,
      undefined,
    ),
  );
}
