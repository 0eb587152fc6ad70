/**
 * The OTLP trace and metrics exporters the configuration asks for. Protocol and
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
import {
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  type IExporterMetricsHelper,
  type IExportMetricsServiceResponse,
  type IExportTraceServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Config } from '../../config/schema.js';
import { encodeBatch, type EncodedBatch } from './otlpEncoder.js';
import type { BatchExporter } from './OtlpSpanQueue.js';

export type OtlpProtocol = 'grpc' | 'http/protobuf';

export interface OtlpTarget {
  readonly protocol: OtlpProtocol;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The generic endpoint gets the signal's path for http/protobuf; a signal-specific one is used as is. */
function resolve(generic: string | undefined, specific: string | undefined, given: OtlpProtocol | undefined, headers: Readonly<Record<string, string>>, path: string): OtlpTarget | null {
  const base = specific ?? generic;
  if (base === undefined) return null;
  let protocol: OtlpProtocol = given ?? 'http/protobuf';
  if (given === undefined && new URL(base).port === '4317') protocol = 'grpc';
  const url = specific === undefined && protocol === 'http/protobuf' ? `${base.replace(/\/+$/, '')}/${path}` : base;
  return { protocol, url, headers };
}

export function resolveOtlpTarget(c: Config['otel_traces_export']): OtlpTarget | null {
  return resolve(c.endpoint, c.traces_endpoint, c.protocol, c.headers, 'v1/traces');
}

export function resolveOtlpMetricsTarget(c: Config['otel_metrics_export']): OtlpTarget | null {
  return resolve(c.endpoint, c.metrics_endpoint, c.protocol, c.headers, 'v1/metrics');
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

/**
 * Every process's metrics in one request: ExportMetricsServiceRequest is
 * one repeated field, so requests serialized one resource at a time and
 * concatenated are the request holding them all.
 */
const metricsSerializer: ISerializer<readonly ResourceMetrics[], IExportMetricsServiceResponse> = {
  serializeRequest: (all) => {
    const parts = all.map((rm) => ProtobufMetricsSerializer.serializeRequest(rm) ?? new Uint8Array());
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  },
  deserializeResponse: (data) => ProtobufMetricsSerializer.deserializeResponse(data),
};

const metricPointsHelper: IExporterMetricsHelper<readonly ResourceMetrics[]> = {
  name: 'metric_data_point',
  countItems: (all) => all.reduce((n, rm) => n + rm.scopeMetrics.reduce((m, sm) => m + sm.metrics.reduce((k, md) => k + md.dataPoints.length, 0), 0), 0),
};

export type MetricsExporter = OTLPExporterBase<readonly ResourceMetrics[]>;

export function createOtlpMetricsExporter(t: OtlpTarget, timeoutMillis: number): MetricsExporter {
  if (t.protocol === 'grpc') {
    const metadata = new Metadata();
    for (const [k, v] of Object.entries(t.headers)) metadata.set(k, v);
    return new OTLPExporterBase(
      createOtlpGrpcExportDelegate(
        convertLegacyOtlpGrpcOptions({ url: t.url, metadata, timeoutMillis }, 'METRICS'),
        metricsSerializer,
        'otlp_grpc_metric_exporter',
        metricPointsHelper,
        undefined,
        'MetricsExportService',
        '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      ),
    );
  }
  return new OTLPExporterBase(
    createOtlpHttpExportDelegate(
      convertLegacyHttpOptions({ url: t.url, headers: { ...t.headers }, timeoutMillis }, 'METRICS', 'v1/metrics', {
        'Content-Type': 'application/x-protobuf',
      }),
      metricsSerializer,
      'otlp_http_metric_exporter',
      metricPointsHelper,
      undefined,
    ),
  );
}
