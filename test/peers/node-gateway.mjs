// A Node.js gateway for the tests, as API gateways and backends-for-frontends
// run: every request is forwarded, same method, to the upstream over a
// keep-alive agent (its target under BASE, when given: a service mounted
// under a prefix), and answered with the upstream's status and body. It
// knows nothing of tracing.
// Usage: node node-gateway.mjs PORT UPSTREAM_PORT [BASE]; prints "ready" once listening.
import { Agent, createServer, request } from 'node:http';

const port = Number(process.argv[2]);
const upstreamPort = Number(process.argv[3]);
const base = process.argv[4] ?? '';
const agent = new Agent({ keepAlive: true, maxSockets: 64 });

const server = createServer((req, res) => {
  const out = request({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: base + req.url, agent }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/plain' });
    answer.pipe(res);
  });
  out.on('error', () => {
    res.writeHead(502);
    res.end('upstream failed\n');
  });
  req.pipe(out);
});
server.keepAliveTimeout = 30_000;
server.listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
