// A Node https server for the tests (Node's own OpenSSL, linked into the
// node binary). Usage: node node-https-server.mjs PORT HOST CERT KEY
// Prints "ready" once listening.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';
const cert = readFileSync(process.argv[4]);
const key = readFileSync(process.argv[5]);

const server = createServer({ cert, key }, (req, res) => {
  const url = new URL(req.url, 'https://x');
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) {
    res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
    res.end(`status ${status[1]}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('hello over tls\n');
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
