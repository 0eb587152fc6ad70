// An OTLP/gRPC trace receiver that accepts and discards: the cheapest
// backend there is, so the benchmarks measure Sonde, not a backend.
// Usage: node otlp-sink.mjs PORT   (prints "ready")
import { Server, ServerCredentials } from '@grpc/grpc-js';

const server = new Server();
let requests = 0;
server.addService(
  {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b) => b,
      requestDeserialize: (b) => b,
      responseSerialize: () => Buffer.alloc(0),
      responseDeserialize: (b) => b,
    },
  },
  { Export: (_call, cb) => { requests++; cb(null, Buffer.alloc(0)); } },
);
server.bindAsync(`127.0.0.1:${process.argv[2]}`, ServerCredentials.createInsecure(), (err) => {
  if (err) throw err;
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => {
  process.stderr.write(`${requests} export requests\n`);
  process.exit(0);
});
