// A plain Node http server for the tests. Usage: node node-server.mjs PORT [HOST]
// Prints "ready" once listening.
import { createServer } from 'node:http';

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';
const big = Buffer.alloc(1 << 20, 0x61);

const server = createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/chunked') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk\n');
    setTimeout(() => {
      res.write('second chunk\n');
      res.end('last chunk\n');
    }, 5);
    return;
  }
  if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': big.length });
    res.end(big);
    return;
  }
  const status = /^\/status\/(\d{3})$/.exec(url.pathname);
  if (status) {
    res.writeHead(Number(status[1]), { 'content-type': 'text/plain' });
    res.end(`status ${status[1]}\n`);
    return;
  }
  if (url.pathname === '/echo') {
    let n = 0;
    req.on('data', (d) => (n += d.length));
    req.on('end', () => res.end(`received ${n}\n`));
    return;
  }
  if (url.pathname === '/slow') {
    setTimeout(() => res.end('slow\n'), Number(url.searchParams.get('ms') ?? 50));
    return;
  }
  res.end('hello\n');
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
