// A grpc-js client for the tests: calls grpc.examples.echo.Echo (echo.proto)
// on ONE channel (one HTTP/2 connection), one call after the other, and
// prints one JSON line per call:
//   {"call":"unary","message":"x","code":0,"details":"","responses":1}
// message is the last response's message ("" if none), code the gRPC status
// code (details "" when it is OK); a failed call is a result, not an error,
// so the exit status is 0.
// Usage: node node-client.mjs HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N] [--metadata KEY=VALUE]...
// CALLSPEC: unary:MSG, server:MSG, client:A,B,..., bidi:A,B,... (client and
// bidi send each comma-separated part as one message). --concurrent N runs
// each callspec N times at once on the one channel (interleaved streams).
// --metadata adds a metadata entry to the unary calls.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const USAGE = 'usage: node node-client.mjs HOST:PORT CALLSPEC... [--tls CA] [--deadline-ms N] [--concurrent N] [--metadata KEY=VALUE]...';
const KINDS = ['unary', 'server', 'client', 'bidi'];

function usage(problem) {
  process.stderr.write(`node-client: ${problem}\n${USAGE}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let target;
let ca;
let deadlineMs = 0;
let concurrent = 1;
const metadata = new grpc.Metadata();
const specs = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--tls') ca = args[++i];
  else if (a === '--deadline-ms') deadlineMs = Number(args[++i]);
  else if (a === '--concurrent') concurrent = Math.max(1, Number(args[++i]));
  else if (a === '--metadata') {
    const [key, ...value] = String(args[++i]).split('=');
    metadata.add(key, value.join('='));
  }
  else if (target === undefined) target = a;
  else {
    const colon = a.indexOf(':');
    const kind = a.slice(0, colon);
    if (colon < 0 || !KINDS.includes(kind)) usage(`bad callspec ${a}`);
    specs.push({ kind, message: a.slice(colon + 1) });
  }
}
if (!target) usage('no target');
if (!Number.isFinite(deadlineMs) || !Number.isFinite(concurrent)) usage('bad number');

const definition = protoLoader.loadSync(fileURLToPath(new URL('echo.proto', import.meta.url)), { keepCase: true, defaults: true });
const { Echo } = grpc.loadPackageDefinition(definition).grpc.examples.echo;
const credentials = ca ? grpc.credentials.createSsl(readFileSync(ca)) : grpc.credentials.createInsecure();
// No retries: one call is one HTTP/2 stream, whatever the status.
const client = new Echo(target, credentials, { 'grpc.enable_retries': 0 });

const options = () => (deadlineMs > 0 ? { deadline: Date.now() + deadlineMs } : {});

function result(call, message, status, responses) {
  const code = status?.code ?? 0;
  return { call, message, code, details: code === 0 ? '' : (status.details ?? ''), responses };
}

/** Counts a response stream's messages; resolves with the call's status (which always comes, after any 'error'). */
function settle(kind, call) {
  let responses = 0;
  let last = '';
  call.on('data', ({ message }) => {
    responses++;
    last = message;
  });
  call.on('error', () => {});
  return new Promise((resolve) => call.on('status', (status) => resolve(result(kind, last, status, responses))));
}

function run({ kind, message }) {
  const parts = message.split(',');
  switch (kind) {
    case 'unary':
      return new Promise((resolve) =>
        client.UnaryEcho({ message }, metadata, options(), (err, res) => resolve(err ? result(kind, '', err, 0) : result(kind, res.message, null, 1))),
      );
    case 'server':
      return settle(kind, client.ServerStreamingEcho({ message }, options()));
    case 'client':
      return new Promise((resolve) => {
        const call = client.ClientStreamingEcho(options(), (err, res) =>
          resolve(err ? result(kind, '', err, 0) : result(kind, res.message, null, 1)),
        );
        for (const p of parts) call.write({ message: p });
        call.end();
      });
    case 'bidi': {
      const call = client.BidirectionalStreamingEcho(options());
      const done = settle(kind, call);
      for (const p of parts) call.write({ message: p });
      call.end();
      return done;
    }
  }
}

// Connect first, so a deadline times the call alone, not the connection's
// setup too (a busy test machine can take longer than a 300 ms deadline to
// start a TLS session). Failing that, the calls say why.
await new Promise((resolve) => client.waitForReady(Date.now() + 10_000, resolve));

for (const spec of specs) {
  const results = await Promise.all(Array.from({ length: concurrent }, () => run(spec)));
  for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
}
client.close();
