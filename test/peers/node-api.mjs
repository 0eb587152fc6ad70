// A Node.js API for the tests, as backends-for-frontends are written: each
// request becomes calls to an upstream with targets of its own (so only
// async context can tie them), over a keep-alive agent. It knows nothing
// of tracing. Usage: node node-api.mjs PORT UPSTREAM_PORT [CERT KEY] (with
// a certificate and key it serves HTTPS); prints "ready".
//
//   /item/ID    GET /catalog/ID upstream, answered with its body
//   /pair/ID    GET /price/ID, then on its answer GET /stock/ID
//   /after/ID   answers, then GET /audit/ID: the request is already answered
//   /later/ID   GET /late/ID from a timer, then answers: a timer names no request
import { readFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

const port = Number(process.argv[2]);
const upstreamPort = Number(process.argv[3]);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(path, done) {
  const out = request({ host: '127.0.0.1', port: upstreamPort, path, agent }, (answer) => {
    const parts = [];
    answer.on('data', (d) => parts.push(d));
    answer.on('end', () => done(null, Buffer.concat(parts).toString()));
  });
  out.on('error', (err) => done(err));
  out.end();
}

const tls = process.argv[4] ? { cert: readFileSync(process.argv[4]), key: readFileSync(process.argv[5]) } : null;

function handle(req, res) {
  const [, route, id] = req.url.split('/');
  const reply = (err, body) => {
    res.writeHead(err ? 502 : 200, { 'content-type': 'text/plain' });
    res.end(err ? 'upstream failed\n' : body);
  };
  switch (route) {
    case 'item':
      return get(`/catalog/${id}`, reply);
    case 'pair':
      return get(`/price/${id}`, (err, a) => (err ? reply(err) : get(`/stock/${id}`, (err2, b) => reply(err2, a + b))));
    case 'after':
      reply(null, 'answered first\n');
      return get(`/audit/${id}`, () => {});
    case 'later':
      return setTimeout(() => get(`/late/${id}`, reply), 5);
    default:
      res.writeHead(404);
      res.end();
  }
}

const server = tls ? createTlsServer(tls, handle) : createServer(handle);
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
