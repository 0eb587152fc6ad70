/**
 * End to end into a real Jaeger v2 (built from the Go module proxy by
 * scripts/jaeger.sh): `sonde run` exports OTLP to it while real servers
 * (python3 http.server, a Node server, nginx) serve real clients (curl, a
 * Node client); the traces are read back through Jaeger's query API.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jaegerBinary, queryTraces, services, startJaeger, waitForSpans, type Jaeger, type JaegerSpan } from '../helpers/jaeger.js';
import { startGoHttp2Server } from '../helpers/http2.js';
import { curl, nodeClient, startNginx, startNginxProxy, startNodeGateway, startNodeServer, startPython, startPythonRelay, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde, type SondeProcess } from '../helpers/sonde.js';
import { waitForAsync } from '../helpers/wait.js';

let jaeger: Jaeger;
let sonde: SondeProcess;
let python: Peer;
let node: Peer;
let nginx: Peer;
let relay: Peer;
let proxy: Peer;
let gateway: Peer;
let go: Peer;

beforeAll(async () => {
  // On a cold machine this builds Jaeger (minutes); warm, it is a file check.
  jaeger = await startJaeger({ binary: await jaegerBinary() });
  python = await startPython(await freePort(), { OTEL_SERVICE_NAME: 'e2e-python' });
  node = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'e2e-node' });
  nginx = await startNginx(await freePort());
  relay = await startPythonRelay(await freePort(), { OTEL_SERVICE_NAME: 'e2e-relay' });
  // The chain curl -> nginx (reverse proxy) -> Python -> Node (gateway) -> Go.
  proxy = await startNginxProxy(await freePort(), relay.port);
  go = await startGoHttp2Server(await freePort(), { env: { OTEL_SERVICE_NAME: 'e2e-go' } });
  // Mounted under /api upstream: its calls have targets of their own, so only Node.js async context ties them.
  gateway = await startNodeGateway(await freePort(), go.port, { OTEL_SERVICE_NAME: 'e2e-gateway' }, '/api');
  const ports = [python, node, nginx, relay, proxy, gateway, go].map((p) => p.port).join(',');
  sonde = startSonde(
    ['--print', 'disabled', '--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${ports}"\n    - exe_path: "*/curl"\n    - exe_path: "*/node"\n`)],
    { OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpGrpcEndpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_BSP_SCHEDULE_DELAY: '200' },
  );
  await sonde.ready();
}, 20 * 60_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([python, node, nginx, relay, proxy, gateway, go].map((p) => p?.stop()));
  await jaeger?.stop();
});

const fromPort = (port: number) => (s: JaegerSpan): boolean => s.attributes['client.port'] === port || s.attributes['network.peer.port'] === port;
const ms = (ns: bigint): number => Number(ns) / 1e6;

describe('into Jaeger over OTLP/gRPC', () => {
  it('python3 http.server: SERVER spans named by OTEL_SERVICE_NAME, with status and durations', async () => {
    // http.server answers with HTTP/1.0 and closes: one connection per request.
    const results = await curl([`http://127.0.0.1:${python.port}/`, `http://127.0.0.1:${python.port}/missing`]);
    const ports = new Set(results.map((r) => r.localPort));
    const spans = await waitForSpans(jaeger, 'e2e-python', (s) => s.kind === 'SERVER' && ports.has(s.attributes['client.port'] as number), 2);
    expect(spans).toHaveLength(2);
    const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s]));
    const ok = byPath.get('/')!;
    const missing = byPath.get('/missing')!;
    expect(ok.name).toBe('GET');
    expect(ok.resource['service.name']).toBe('e2e-python');
    expect(ok.resource['process.pid']).toBe(python.pid);
    expect(ok.scope.name).toBe('sonde');
    expect(ok.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.response.status_code': 200, 'url.scheme': 'http', 'server.port': python.port });
    expect(missing.attributes['http.response.status_code']).toBe(404);
    expect(missing.status.code).toBe('UNSET'); // 4xx is not a server error
    expect(ms(ok.durationNs)).toBeGreaterThan(0);
    expect(ms(ok.durationNs)).toBeLessThanOrEqual(results[0]!.timeTotal * 1000);
    expect(ms(missing.durationNs)).toBeLessThanOrEqual(results[1]!.timeTotal * 1000);
  });

  it('a Node server: keep-alive requests and a 500 marked as an error', async () => {
    const results = await curl([`http://127.0.0.1:${node.port}/`, `http://127.0.0.1:${node.port}/status/500`, `http://127.0.0.1:${node.port}/slow?ms=40`]);
    const spans = await waitForSpans(jaeger, 'e2e-node', (s) => s.kind === 'SERVER' && fromPort(results[0]!.localPort)(s), 3);
    const byPath = new Map(spans.map((s) => [s.attributes['url.path'], s]));
    expect([...byPath.keys()].sort()).toEqual(['/', '/slow', '/status/500']);
    const failed = byPath.get('/status/500')!;
    expect(failed.status.code).toBe('ERROR');
    expect(failed.attributes['error.type']).toBe('500');
    const slow = byPath.get('/slow')!;
    // Node fires a 40 ms timer against its loop's cached clock: up to a millisecond early.
    expect(ms(slow.durationNs)).toBeGreaterThanOrEqual(39);
    expect(ms(slow.durationNs)).toBeLessThanOrEqual(results[2]!.timeTotal * 1000);
  });

  it('curl to nginx: the CLIENT span of curl and the SERVER span of nginx', async () => {
    const [r] = await curl([`http://127.0.0.1:${nginx.port}/index.html`]);
    const [server] = await waitForSpans(jaeger, 'nginx', (s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort, 1);
    const [client] = await waitForSpans(jaeger, 'curl', (s) => s.kind === 'CLIENT' && s.attributes['url.full'] === `http://127.0.0.1:${nginx.port}/index.html`, 1);
    expect(server!.attributes['http.response.status_code']).toBe(200);
    expect(server!.attributes['http.response.body.size']).toBe(r!.sizeDownload);
    expect(client!.attributes).toMatchObject({ 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'server.port': nginx.port, 'http.response.status_code': 200 });
    // The server's span lies within the client's, as the kernel timed both. At the end, the
    // server's write can return a few microseconds after the client has read what it wrote
    // (loopback delivers during the write): allow 200 µs there.
    expect(server!.startUnixNano).toBeGreaterThanOrEqual(client!.startUnixNano);
    expect(server!.startUnixNano + server!.durationNs).toBeLessThanOrEqual(client!.startUnixNano + client!.durationNs + 200_000n);
    expect(ms(client!.durationNs)).toBeLessThanOrEqual(r!.timeTotal * 1000);
  });

  it('one traced Node process calling another: both its CLIENT and its SERVER span', async () => {
    const { pid, results } = await nodeClient([`http://127.0.0.1:${node.port}/status/201`], { OTEL_SERVICE_NAME: 'e2e-client' });
    const [client] = await waitForSpans(jaeger, 'e2e-client', (s) => s.kind === 'CLIENT' && s.resource['process.pid'] === pid, 1);
    const [server] = await waitForSpans(jaeger, 'e2e-node', (s) => s.kind === 'SERVER' && s.attributes['client.port'] === results[0]!.localPort, 1);
    expect(client!.name).toBe('GET');
    expect(client!.attributes['url.full']).toBe(`http://127.0.0.1:${node.port}/status/201`);
    expect(client!.attributes['http.response.status_code']).toBe(201);
    expect(server!.attributes['http.response.status_code']).toBe(201);
    expect(Number(client!.durationNs)).toBeLessThanOrEqual(results[0]!.durationNs);
    expect(server!.durationNs).toBeLessThanOrEqual(client!.durationNs);
    // Both ends traced on this host: one trace, the server's span the client's child.
    expect(server!.traceId).toBe(client!.traceId);
    expect(server!.parentSpanId).toBe(client!.spanId);
    const known = await services(jaeger);
    expect(known).toEqual(expect.arrayContaining(['e2e-python', 'e2e-node', 'nginx', 'curl', 'e2e-client']));
  });
});

describe('traces that connect, in Jaeger', () => {
  it('curl -> a threaded Python app -> Node, 10 at once: ten traces of four spans, each the child of its caller', async () => {
    const runs = await Promise.all(Array.from({ length: 10 }, (_, i) => curl([`http://127.0.0.1:${relay.port}/e2e${i}?to=http://127.0.0.1:${node.port}/from-relay-${i}`])));
    expect(runs.flat().map((r) => r.status)).toEqual(Array(10).fill(200));
    const ports = new Set(runs.flat().map((r) => r.localPort));
    const relayIn = await waitForSpans(jaeger, 'e2e-relay', (s) => s.kind === 'SERVER' && ports.has(Number(s.attributes['client.port'])), 10);
    for (const r of relayIn) {
      // Jaeger returns whole traces: every service's spans of the relay's traces.
      const trace = await waitForSpans(jaeger, 'e2e-relay', (s) => s.traceId === r.traceId, 4);
      const byKind = (kind: string, service: string) => trace.filter((s) => s.kind === kind && s.resource['service.name'] === service);
      const [curlOut] = byKind('CLIENT', 'curl');
      const [relayOut] = byKind('CLIENT', 'e2e-relay');
      const [nodeIn] = byKind('SERVER', 'e2e-node');
      expect(trace).toHaveLength(4);
      expect(curlOut!.parentSpanId).toBe('');
      expect(r.parentSpanId).toBe(curlOut!.spanId);
      expect(relayOut!.parentSpanId).toBe(r.spanId);
      expect(nodeIn!.parentSpanId).toBe(relayOut!.spanId);
      expect(String(nodeIn!.attributes['url.path'])).toBe(String(r.attributes['url.path']).replace('/e2e', '/from-relay-'));
    }
  });
});

/** How the spans of a set of requests are parented, against how the calls were made. */
interface ParentTally {
  readonly clients: number;
  readonly spans: number;
  readonly correct: number;
  readonly wrong: number;
  /** A root where a parent was due. */
  readonly roots: number;
  readonly missing: number;
  /** Which hops those roots were. */
  readonly rootsAt: readonly string[];
}

describe('the whole chain, in Jaeger: curl -> nginx -> Python -> Node -> Go', () => {
  const tallies: ParentTally[] = [];
  afterAll(() => {
    const row = (t: ParentTally): string =>
      `| ${t.clients} | ${t.spans} | ${((100 * t.correct) / t.spans).toFixed(1)} % | ${t.wrong} | ${t.roots}${t.rootsAt.length ? ` (${t.rootsAt.join(', ')})` : ''} | ${t.missing} |`;
    process.stdout.write(`\nparents in the chain (test/e2e/jaeger.test.ts):\n| clients at once | spans due | correct parent | wrong parent | roots where a parent was due | missing |\n|---|---|---|---|---|---|\n${tallies.map(row).join('\n')}\n`);
  });

  it.each([1, 10, 50])('%i client(s) at once: one trace per request, every span the child of its caller', async (clients) => {
    const path = (hop: 'p' | 'q' | 'api', i: number): string => (hop === 'api' ? `/api/q${clients}-${i}` : `/${hop}${clients}-${i}`);
    const runs = await Promise.all(
      Array.from({ length: clients }, (_, i) => curl([`http://127.0.0.1:${proxy.port}${path('p', i)}?to=http://127.0.0.1:${gateway.port}${path('q', i)}`])),
    );
    expect(runs.flat().map((r) => r.status)).toEqual(Array(clients).fill(200));
    // Every span of the chain, found by what it is (service, kind, path), not by its links.
    const hops: ReadonlyArray<readonly [service: string, kind: 'CLIENT' | 'SERVER', hop: 'p' | 'q' | 'api']> = [
      ['curl', 'CLIENT', 'p'], ['nginx', 'SERVER', 'p'], ['nginx', 'CLIENT', 'p'], ['e2e-relay', 'SERVER', 'p'],
      ['e2e-relay', 'CLIENT', 'q'], ['e2e-gateway', 'SERVER', 'q'], ['e2e-gateway', 'CLIENT', 'api'], ['e2e-go', 'SERVER', 'api'],
    ];
    const pathOf = (s: JaegerSpan): string => String(s.attributes['url.path'] ?? new URL(String(s.attributes['url.full'] ?? 'http://x/')).pathname);
    const chains = async (): Promise<Array<Array<JaegerSpan | undefined>>> => {
      const all = new Map<string, JaegerSpan>();
      for (const service of ['curl', 'nginx', 'e2e-relay', 'e2e-gateway', 'e2e-go']) {
        const r = await queryTraces(jaeger, { service, limit: 1000 });
        if (r.ok) for (const s of r.value) all.set(s.spanId, s);
      }
      const spans = [...all.values()];
      return runs.map((_, i) =>
        hops.map(([service, kind, hop]) => spans.find((s) => s.resource['service.name'] === service && s.kind === kind && pathOf(s) === path(hop, i))),
      );
    };
    let found = await chains();
    await waitForAsync(async () => (found = await chains()).every((c) => c.every((s) => s !== undefined)), 'every span of every chain in Jaeger', 20_000).catch(() => undefined);
    let correct = 0, wrong = 0, missing = 0;
    const roots: string[] = [];
    for (const chain of found) {
      chain.forEach((span, k) => {
        if (!span) return void missing++;
        const due = k === 0 ? '' : chain[k - 1]?.spanId;
        if (span.parentSpanId === due) correct++;
        else if (span.parentSpanId === '') roots.push(hops[k]!.slice(0, 2).join(' '));
        else wrong++;
      });
    }
    const spans = clients * hops.length;
    tallies.push({ clients, spans, correct, wrong, roots: roots.length, missing, rootsAt: roots });
    // Never a wrong parent, nothing lost; a root where a parent was due is honest but counted: 100 % at one
    // client, at least 99 % under concurrency (the issue's targets).
    expect({ wrong, missing, roots: clients === 1 ? roots : [] }).toEqual({ wrong: 0, missing: 0, roots: [] });
    expect(correct / spans, `roots where a parent was due: ${roots.join(', ')}`).toBeGreaterThanOrEqual(0.99);
    for (const chain of found) if (chain.every((s) => s!.parentSpanId !== '' || s === chain[0])) expect(new Set(chain.map((s) => s!.traceId)).size).toBe(1);
  });
});

describe('a request carrying a traceparent, through the whole chain', () => {
  it('keeps its trace id end to end: all eight spans are in that trace, curl\'s span is the one it names', async () => {
    const traceId = randomBytes(16).toString('hex');
    const parentId = randomBytes(8).toString('hex');
    const [r] = await curl([`http://127.0.0.1:${proxy.port}/tp-chain?to=http://127.0.0.1:${gateway.port}/tp-down`], ['-H', `traceparent: 00-${traceId}-${parentId}-01`]);
    expect(r!.status).toBe(200);
    const inTrace = await waitForSpans(jaeger, 'e2e-go', (s) => s.traceId === traceId, 8, 20_000).catch(() => [] as JaegerSpan[]);
    const services = inTrace.map((s) => `${String(s.resource['service.name'])} ${s.kind}`).sort();
    expect(services).toEqual([
      'curl CLIENT', 'e2e-gateway CLIENT', 'e2e-gateway SERVER', 'e2e-go SERVER', 'e2e-relay CLIENT', 'e2e-relay SERVER', 'nginx CLIENT', 'nginx SERVER',
    ]);
    const curlSpan = inTrace.find((s) => s.kind === 'CLIENT' && s.resource['service.name'] === 'curl');
    expect(curlSpan!.spanId).toBe(parentId);
    // Every other span hangs from one in the same trace.
    for (const s of inTrace) if (s !== curlSpan) expect(inTrace.some((p) => p.spanId === s.parentSpanId), `${String(s.resource['service.name'])} ${s.kind}`).toBe(true);
  });
});

describe('into Jaeger over OTLP http/protobuf', () => {
  it('delivers the same spans', async () => {
    const http = startSonde(['--print', 'disabled', '--open-port', String(node.port)], {
      OTEL_EXPORTER_OTLP_ENDPOINT: jaeger.otlpHttpEndpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      // A second Sonde also sees the first one's exports arrive: keep them apart by service.
    });
    try {
      await http.ready();
      const [r] = await curl([`http://127.0.0.1:${node.port}/status/206`]);
      const spans = await waitForSpans(jaeger, 'e2e-node', (s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort, 2);
      // Both Sondes trace the server: one span arrived over gRPC, one over http/protobuf.
      expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([206, 206]);
      expect(new Set(spans.map((s) => s.spanId)).size).toBe(2);
    } finally {
      expect(await http.stop()).toBe(0);
    }
  });
});
