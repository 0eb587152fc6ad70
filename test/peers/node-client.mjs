// A Node http client for the tests: requests the given URLs one after the
// other on one keep-alive connection, and prints one JSON line per request
// with what it measured. Usage: node node-client.mjs URL...
// https URLs trust the CA file named by SONDE_TEST_CA (else the system's).
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import * as https from 'node:https';

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
const ca = process.env.SONDE_TEST_CA ? readFileSync(process.env.SONDE_TEST_CA) : undefined;
const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });

function get(url) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const wallStart = Date.now();
    const tls = url.startsWith('https:');
    const req = (tls ? https.request : request)(url, { agent: tls ? tlsAgent : agent }, (res) => {
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
tlsAgent.destroy();
