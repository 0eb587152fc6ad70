/**
 * Node.js async context, through the real `sonde run`: a Node.js API
 * (test/peers/node-api.mjs) turns each request into calls with targets of
 * their own over a keep-alive agent, so neither a thread (one event loop
 * serves every connection) nor the target (ProxyTies) can tie them; only
 * the runtime's async machinery, probed by bpf/node.bpf.c, can. A call
 * made for a request answered already, or from a timer, stays a root.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNodeApi, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';
import { makeCertificate } from '../helpers/tls.js';
import { waitFor } from '../helpers/wait.js';

let sonde: SondeProcess;
let upstream: Peer;
let api: Peer;
let tlsApi: Peer;

beforeAll(async () => {
  upstream = await startNodeServer(await freePort());
  api = await startNodeApi(await freePort(), upstream.port);
  tlsApi = await startNodeApi(await freePort(), upstream.port, makeCertificate());
  sonde = startSonde(['--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${api.port},${tlsApi.port},${upstream.port}"\n`)]);
  await sonde.ready();
  // Probes go on when the process is selected: wait for the APIs' before the first request.
  for (const p of [api, tlsApi]) await waitFor(() => sonde.logs.some((l) => l.msg === 'Node.js async context probed' && l.pid === p.pid), 'the API probed', 20_000);
}, 60_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([api, tlsApi, upstream].map((p) => p?.stop()));
});

const apiServer = (path: string) => (s: PrintedSpan): boolean =>
  s.kind === 'SERVER' && s.attributes['server.port'] === api.port && s.attributes['url.path'] === path;
const apiCall = (path: string) => (s: PrintedSpan): boolean =>
  s.kind === 'CLIENT' && s.attributes['server.port'] === upstream.port && String(s.attributes['url.full']).endsWith(path);

/** Requests to the API under `route`, `clients` at once; their runs' statuses. */
async function hit(route: string, ids: readonly string[]): Promise<number[]> {
  const runs = await Promise.all(ids.map((id) => curl([`http://127.0.0.1:${api.port}/${route}/${id}`])));
  return runs.flat().map((r) => r.status);
}

describe('a call a Node.js server makes while serving a request (async context)', () => {
  it.each([1, 10, 50])('%i client(s) at once: each call is the child of the request it was made for, in its trace', async (clients) => {
    const ids = Array.from({ length: clients }, (_, i) => `c${clients}-${i}`);
    expect(await hit('item', ids)).toEqual(Array(clients).fill(200));
    for (const id of ids) {
      const [server] = await sonde.waitForSpans(apiServer(`/item/${id}`), 1);
      const [call] = await sonde.waitForSpans(apiCall(`/catalog/${id}`), 1);
      expect(call!.parentSpanId, `/catalog/${id}`).toBe(server!.spanId);
      expect(call!.traceId).toBe(server!.traceId);
      // And downstream, with both ends traced: the upstream's SERVER span is the call's child.
      const [down] = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['server.port'] === upstream.port && s.attributes['url.path'] === `/catalog/${id}`, 1);
      expect(down!.parentSpanId).toBe(call!.spanId);
    }
  });

  it('two calls one after the other (the second made on the first one\'s answer) are both children', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `p${i}`);
    expect(await hit('pair', ids)).toEqual(Array(10).fill(200));
    for (const id of ids) {
      const [server] = await sonde.waitForSpans(apiServer(`/pair/${id}`), 1);
      const [price] = await sonde.waitForSpans(apiCall(`/price/${id}`), 1);
      const [stock] = await sonde.waitForSpans(apiCall(`/stock/${id}`), 1);
      expect([price!.parentSpanId, stock!.parentSpanId]).toEqual([server!.spanId, server!.spanId]);
    }
  });

  it('an HTTPS server (its plaintext from the uprobes on node\'s own OpenSSL): each call the child of its request', async () => {
    const ids = Array.from({ length: 10 }, (_, i) => `t${i}`);
    const runs = await Promise.all(ids.map((id) => curl([`https://127.0.0.1:${tlsApi.port}/item/${id}`], ['-k'])));
    expect(runs.flat().map((r) => r.status)).toEqual(Array(10).fill(200));
    for (const id of ids) {
      const [server] = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['server.port'] === tlsApi.port && s.attributes['url.path'] === `/item/${id}`, 1);
      const [call] = await sonde.waitForSpans(apiCall(`/catalog/${id}`), 1);
      expect(call!.parentSpanId, `/catalog/${id}`).toBe(server!.spanId);
    }
  });

  it('a call made after its request was answered, or from a timer, is a root: no request is proven', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `r${i}`);
    expect(await hit('after', ids)).toEqual(Array(5).fill(200));
    expect(await hit('later', ids)).toEqual(Array(5).fill(200));
    for (const id of ids) {
      const [audit] = await sonde.waitForSpans(apiCall(`/audit/${id}`), 1);
      const [late] = await sonde.waitForSpans(apiCall(`/late/${id}`), 1);
      expect([audit!.parentSpanId, late!.parentSpanId]).toEqual(['', '']);
    }
  });
});
