// Sends N GET requests to URL over C keep-alive connections and prints one
// JSON summary line: {"ok":n,"errors":n,"statuses":{...},"ms":n}.
// Usage: node load-client.mjs URL N C
import { Agent, request } from 'node:http';

const [url, nText, cText] = process.argv.slice(2);
const total = Number(nText);
const concurrency = Number(cText ?? 10);
const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
let started = 0;
let ok = 0;
let errors = 0;
const statuses = {};

function one() {
  return new Promise((resolve) => {
    const req = request(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
        ok++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    req.end();
  });
}

async function worker() {
  while (started < total) {
    started++;
    await one();
  }
}

const t0 = performance.now();
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`${JSON.stringify({ ok, errors, statuses, ms: Math.round(performance.now() - t0) })}\n`);
agent.destroy();
