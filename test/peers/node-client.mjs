// A Node http client for the tests: requests the given URLs one after the
// other on one keep-alive connection, and prints one JSON line per request
// with what it measured. Usage: node node-client.mjs URL...
import { Agent, request } from 'node:http';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(url) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const wallStart = Date.now();
    const req = request(url, { agent }, (res) => {
      let size = 0;
      res.on('data', (d) => (size += d.length));
      res.on('end', () => {
        const end = process.hrtime.bigint();
        resolve({ url, status: res.statusCode, size, localPort: req.socket.localPort, durationNs: Number(end - start), wallStart });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

for (const url of process.argv.slice(2)) process.stdout.write(`${JSON.stringify(await get(url))}\n`);
agent.destroy();
