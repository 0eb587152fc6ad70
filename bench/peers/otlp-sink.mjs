// An OTLP/gRPC trace receiver that accepts and discards: the cheapest
// backend there is, so the benchmarks measure Sonde, not a backend.
// Plain HTTP/2 rather than a gRPC server library: every Export gets an
// empty ExportTraceServiceResponse and grpc-status 0, unread. Its flow-
// control windows are large, as a Go collector's grow to be: with HTTP/2's
// default 64 KiB a batch of a megabyte takes some twenty round trips of
// window updates, which is the receiver's cost, not Sonde's.
// Usage: node otlp-sink.mjs PORT   (prints "ready")
import http2 from 'node:http2';

const WINDOW = 16 << 20;
const EMPTY_MESSAGE = Buffer.from([0, 0, 0, 0, 0]); // not compressed, length 0
let requests = 0;

const server = http2.createServer({ settings: { initialWindowSize: WINDOW } });
server.on('session', (session) => session.on('localSettings', () => session.setLocalWindowSize(WINDOW)));
server.on('stream', (stream) => {
  stream.on('data', () => {});
  stream.on('end', () => {
    requests++;
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(EMPTY_MESSAGE);
  });
  stream.on('error', () => {});
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => {
  process.stderr.write(`${requests} export requests\n`);
  process.exit(0);
});
