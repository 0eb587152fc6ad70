// A grpc-js server for the tests: grpc.examples.echo.Echo (echo.proto) with
// the behaviour all the gRPC test servers share: the request message
// "NOT_FOUND" fails with NOT_FOUND, "UNAVAILABLE" with UNAVAILABLE, "SLOW"
// answers after 3 s, anything else is echoed (server streaming: three
// times; client streaming: the messages joined by ","; bidi: each one). A
// failure on a streaming call comes before any response, so grpc-js sends
// it as a Trailers-Only response.
// Usage: node node-server.mjs PORT [--host HOST] [--tls CERT KEY]
// Prints "listening PORT" once bound.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const SLOW_MS = 3000;

const args = process.argv.slice(2);
let host = '127.0.0.1';
let port;
let tls;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--host') host = args[++i];
  else if (args[i] === '--tls') tls = { cert: args[++i], key: args[++i] };
  else if (port === undefined) port = Number(args[i]);
  else {
    process.stderr.write(`node-server: unexpected argument ${args[i]}\nusage: node node-server.mjs PORT [--host HOST] [--tls CERT KEY]\n`);
    process.exit(2);
  }
}

const definition = protoLoader.loadSync(fileURLToPath(new URL('echo.proto', import.meta.url)), { keepCase: true, defaults: true });
const { Echo } = grpc.loadPackageDefinition(definition).grpc.examples.echo;

/** The status a control word asks for, or undefined to answer. */
function failure(message) {
  if (message === 'NOT_FOUND') return { code: grpc.status.NOT_FOUND, details: 'not found' };
  if (message === 'UNAVAILABLE') return { code: grpc.status.UNAVAILABLE, details: 'unavailable' };
  return undefined;
}

/**
 * Resolves true after 3 s for "SLOW" (at once otherwise), or false as soon as
 * the call is cancelled (the client's deadline): nobody would read the answer.
 */
function pause(call, message) {
  if (message !== 'SLOW') return Promise.resolve(true);
  if (call.cancelled) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(true), SLOW_MS);
    call.once('cancelled', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

const handlers = {
  async UnaryEcho(call, callback) {
    const { message } = call.request;
    const fail = failure(message);
    if (fail) return callback(fail);
    if (await pause(call, message)) callback(null, { message });
  },

  async ServerStreamingEcho(call) {
    const { message } = call.request;
    const fail = failure(message);
    // grpc-js's documented way to end a server stream with a status.
    if (fail) return call.emit('error', fail);
    if (!(await pause(call, message))) return;
    for (let i = 0; i < 3; i++) call.write({ message });
    call.end();
  },

  ClientStreamingEcho(call, callback) {
    const messages = [];
    let done = false;
    const finish = (err, response) => {
      if (done) return;
      done = true;
      callback(err, response);
    };
    call.on('data', ({ message }) => {
      const fail = failure(message);
      if (fail) finish(fail);
      else messages.push(message);
    });
    call.on('end', async () => {
      if (done) return;
      if (messages.includes('SLOW') && !(await pause(call, 'SLOW'))) return;
      finish(null, { message: messages.join(',') });
    });
  },

  BidirectionalStreamingEcho(call) {
    // One message at a time, in order, even when one of them is SLOW.
    let chain = Promise.resolve(true);
    call.on('data', ({ message }) => {
      chain = chain.then(async (open) => {
        if (!open) return false;
        const fail = failure(message);
        if (fail) {
          call.emit('error', fail);
          return false;
        }
        if (!(await pause(call, message))) return false;
        call.write({ message });
        return true;
      });
    });
    call.on('end', () => {
      chain = chain.then((open) => {
        if (open) call.end();
        return false;
      });
    });
  },
};

const server = new grpc.Server();
server.addService(Echo.service, handlers);
const credentials = tls
  ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: readFileSync(tls.cert), private_key: readFileSync(tls.key) }])
  : grpc.ServerCredentials.createInsecure();
const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
server.bindAsync(address, credentials, (err, bound) => {
  if (err) {
    process.stderr.write(`node-server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`listening ${bound}\n`);
});
process.on('SIGTERM', () => process.exit(0));
