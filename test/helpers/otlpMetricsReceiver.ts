/**
 * OTLP metrics receivers inside the test process: gRPC
 * (MetricsService/Export) and http/protobuf (POST /v1/metrics). Requests
 * are decoded with test/fixtures/otlp/metrics.proto into flat points.
 */
import { createServer } from 'node:http';
import { join } from 'node:path';
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import type { AttrValue } from './otlpReceiver.js';
import { ROOT } from './sonde.js';

const root = protobuf.loadSync(join(ROOT, 'test/fixtures/otlp/metrics.proto'));
const Request = root.lookupType('otlp.ExportMetricsServiceRequest');
const Response = root.lookupType('otlp.ExportMetricsServiceResponse');

export interface ReceivedPoint {
  readonly resource: Record<string, AttrValue>;
  readonly scope: string;
  readonly name: string;
  readonly unit: string;
  readonly type: 'histogram' | 'exponential_histogram' | 'sum' | 'gauge';
  readonly temporality: number;
  readonly attributes: Record<string, AttrValue>;
  /** Histograms: the count; sums and gauges: the value. */
  readonly value: number;
  readonly sum?: number;
  readonly bucketCounts?: number[];
  readonly explicitBounds?: number[];
  readonly scale?: number;
  readonly zeroCount?: number;
  readonly positive?: { offset: number; bucketCounts: number[] };
}

/** One request's points, in the order they came. */
export interface MetricsExport {
  readonly points: ReceivedPoint[];
}

interface KV { key: string; value?: Record<string, unknown> }
type Obj = Record<string, unknown>;

function value(v: Obj | undefined): AttrValue {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('intValue' in v) return Number(v.intValue as string);
  if ('doubleValue' in v) return v.doubleValue as number;
  return null;
}
const attrs = (list: KV[] | undefined): Record<string, AttrValue> => Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
const nums = (l: unknown): number[] => ((l as Array<string | number> | undefined) ?? []).map(Number);

export function decodeMetricsExport(bytes: Uint8Array): MetricsExport {
  const msg = Request.toObject(Request.decode(bytes), { longs: String, enums: Number, defaults: true, oneofs: true }) as {
    resourceMetrics: Array<{ resource?: { attributes: KV[] }; scopeMetrics: Array<{ scope?: { name: string }; metrics: Obj[] }> }>;
  };
  const points: ReceivedPoint[] = [];
  for (const rm of msg.resourceMetrics) {
    const resource = attrs(rm.resource?.attributes);
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const oneof = m.data as string; // protobufjs names the oneof case in camelCase
        const type = (oneof === 'exponentialHistogram' ? 'exponential_histogram' : oneof) as ReceivedPoint['type'];
        const data = m[oneof] as { dataPoints: Obj[]; aggregationTemporality?: number };
        for (const p of data.dataPoints) {
          const base = { resource, scope: sm.scope?.name ?? '', name: m.name as string, unit: m.unit as string, type, temporality: data.aggregationTemporality ?? 0, attributes: attrs(p.attributes as KV[]) };
          if (type === 'sum' || type === 'gauge') {
            points.push({ ...base, value: p.value === 'asInt' ? Number(p.asInt) : (p.asDouble as number) });
          } else if (type === 'histogram') {
            points.push({ ...base, value: Number(p.count), sum: p.sum as number, bucketCounts: nums(p.bucketCounts), explicitBounds: nums(p.explicitBounds) });
          } else {
            const pos = (p.positive ?? {}) as Obj;
            points.push({
              ...base,
              value: Number(p.count),
              sum: p.sum as number,
              scale: p.scale as number,
              zeroCount: Number(p.zeroCount),
              positive: { offset: (pos.offset as number | undefined) ?? 0, bucketCounts: nums(pos.bucketCounts) },
            });
          }
        }
      }
    }
  }
  return { points };
}

export interface MetricsReceiver {
  readonly port: number;
  readonly exports: MetricsExport[];
  close(): Promise<void>;
}

const EMPTY_RESPONSE = (): Buffer => Buffer.from(Response.encode(Response.create({})).finish());

export async function startHttpMetricsReceiver(port: number): Promise<MetricsReceiver> {
  const exports: MetricsExport[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.url !== '/v1/metrics' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      exports.push(decodeMetricsExport(Buffer.concat(chunks)));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(EMPTY_RESPONSE());
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { port, exports, close: () => new Promise((r) => server.close(() => r())) };
}

export async function startGrpcMetricsReceiver(port: number): Promise<MetricsReceiver> {
  const exports: MetricsExport[] = [];
  const server = new Server();
  const service: ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => EMPTY_RESPONSE(),
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(service, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      exports.push(decodeMetricsExport(call.request));
      cb(null, Buffer.alloc(0));
    },
  });
  await new Promise<void>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  return { port, exports, close: () => new Promise((r) => server.tryShutdown(() => r())) };
}
