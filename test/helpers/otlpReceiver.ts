/**
 * OTLP trace receivers inside the test process: gRPC (TraceService/Export)
 * and http/protobuf (POST /v1/traces). Requests are decoded with the
 * opentelemetry-proto messages of test/fixtures/otlp/trace.proto.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { join } from 'node:path';
import { Server, ServerCredentials, type ServiceDefinition, type sendUnaryData, type ServerUnaryCall, Metadata } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { ROOT } from './sonde.js';

const root = protobuf.loadSync(join(ROOT, 'test/fixtures/otlp/trace.proto'));
const Request = root.lookupType('otlp.ExportTraceServiceRequest');
const Response = root.lookupType('otlp.ExportTraceServiceResponse');

export type AttrValue = string | number | boolean | null;

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  /** W3C tracestate, '' when none. */
  readonly traceState: string;
  /** OTLP SpanFlags: W3C trace flags in the low byte. */
  readonly flags: number;
  readonly name: string;
  /** OTLP SpanKind number: 2 SERVER, 3 CLIENT. */
  readonly kind: number;
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: Record<string, AttrValue>;
  readonly status: { code: number; message: string };
  readonly resource: Record<string, AttrValue>;
  readonly scope: { name: string; version: string };
}

interface KV { key: string; value?: Record<string, unknown> }

function value(v: Record<string, unknown> | undefined): AttrValue {
  if (!v) return null;
  if ('stringValue' in v) return v.stringValue as string;
  if ('boolValue' in v) return v.boolValue as boolean;
  if ('intValue' in v) return Number(v.intValue as string);
  if ('doubleValue' in v) return v.doubleValue as number;
  return null;
}

function attrs(list: KV[] | undefined): Record<string, AttrValue> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
}

const hex = (b: string | undefined): string => Buffer.from(b ?? '', 'base64').toString('hex');

/** Decode one ExportTraceServiceRequest into flat spans. */
export function decodeExport(bytes: Uint8Array): ReceivedSpan[] {
  const msg = Request.toObject(Request.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: true, oneofs: false }) as {
    resourceSpans: Array<{ resource?: { attributes: KV[] }; scopeSpans: Array<{ scope?: { name: string; version: string }; spans: Array<Record<string, unknown>> }> }>;
  };
  const out: ReceivedSpan[] = [];
  for (const rs of msg.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans) {
      for (const s of ss.spans) {
        const status = (s.status ?? {}) as { code?: number; message?: string };
        out.push({
          traceId: hex(s.traceId as string),
          spanId: hex(s.spanId as string),
          parentSpanId: hex(s.parentSpanId as string),
          traceState: (s.traceState as string | undefined) ?? '',
          flags: (s.flags as number | undefined) ?? 0,
          name: s.name as string,
          kind: s.kind as number,
          startTimeUnixNano: BigInt(s.startTimeUnixNano as string),
          endTimeUnixNano: BigInt(s.endTimeUnixNano as string),
          attributes: attrs(s.attributes as KV[]),
          status: { code: status.code ?? 0, message: status.message ?? '' },
          resource,
          scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' },
        });
      }
    }
  }
  return out;
}

export interface Receiver {
  readonly port: number;
  readonly spans: ReceivedSpan[];
  /** Metadata / headers of the last request. */
  lastHeaders: Record<string, string>;
  requests: number;
  close(): Promise<void>;
}

export async function startGrpcReceiver(port: number): Promise<Receiver> {
  const server = new Server();
  const receiver: Receiver = {
    port,
    spans: [],
    lastHeaders: {},
    requests: 0,
    close: () => new Promise((r) => server.tryShutdown(() => r())),
  };
  const service: ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.from(Response.encode(Response.create({})).finish()),
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(service, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      receiver.requests++;
      receiver.lastHeaders = Object.fromEntries(Object.entries((call.metadata as Metadata).getMap()).map(([k, v]) => [k, String(v)]));
      receiver.spans.push(...decodeExport(call.request));
      cb(null, Buffer.alloc(0));
    },
  });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  return receiver;
}

export async function startHttpReceiver(port: number): Promise<Receiver> {
  const receiver: Receiver = { port, spans: [], lastHeaders: {}, requests: 0, close: async () => {} };
  const server: HttpServer = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      if (req.url !== '/v1/traces' || req.method !== 'POST') {
        res.writeHead(404).end();
        return;
      }
      receiver.requests++;
      receiver.lastHeaders = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      receiver.spans.push(...decodeExport(Buffer.concat(chunks)));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(Buffer.from(Response.encode(Response.create({})).finish()));
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  receiver.close = () => new Promise((r) => server.close(() => r()));
  return receiver;
}
