/**
 * Traces that connect, through the real `sonde run`. A request that
 * carries W3C traceparent (HTTP/1 header, HTTP/2 header, gRPC metadata)
 * gives a SERVER span in that trace, the child of the remote parent; a
 * trace the caller did not sample gives no span. A request whose both ends
 * are traced processes on this host gives a SERVER span that is the child
 * of the CLIENT span, and a call a thread-per-connection server makes while
 * serving a request is that request's child: with nothing injected.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGrpcClient, startGrpcServer } from '../helpers/grpc.js';
import { startNghttpd, curlHttp2 } from '../helpers/http2.js';
import { curl, startNginxProxy, startNodeServer, startPython, startPythonRelay, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

let sonde: SondeProcess;
let python: Peer;
let nghttpd: Peer;
let grpcServer: Peer;
let node: Peer;
let relay: Peer;
let proxy: Peer;

beforeAll(async () => {
  [python, nghttpd, grpcServer, node] = await Promise.all([
    startPython(await freePort()),
    startNghttpd(await freePort()),
    startGrpcServer('node', 0),
    startNodeServer(await freePort()),
  ]);
  relay = await startPythonRelay(await freePort());
  proxy = await startNginxProxy(await freePort(), relay.port);
  const ports = [python, nghttpd, grpcServer, node, relay, proxy].map((p) => p.port).join(',');
  sonde = startSonde(['--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${ports}"\n    - exe_path: "*/curl"\n`)]);
  await sonde.ready();
}, 60_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([python, nghttpd, grpcServer, node, relay, proxy].map((p) => p?.stop()));
});

/** A fresh traceparent: its trace id, parent id and header value. */
function traceparent(flags = '01'): { traceId: string; parentId: string; header: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-${flags}` };
}

const serverSpansOn = (port: number) => (s: PrintedSpan): boolean => s.kind === 'SERVER' && s.attributes['server.port'] === port;

describe('a request carrying traceparent', () => {
  it('HTTP/1.1: the SERVER span is in its trace, the child of the remote parent, with its tracestate', async () => {
    const tp = traceparent();
    const [r] = await curl([`http://127.0.0.1:${python.port}/`], ['-H', `traceparent: ${tp.header}`, '-H', 'tracestate: shop=1']);
    expect(r!.status).toBe(200);
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(python.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.parentSpanId).toBe(tp.parentId);
    expect(span!.spanId).not.toBe(tp.parentId);
    expect(span!.traceState).toBe('shop=1');
  });

  it('HTTP/2: the same from an HTTP/2 header field', async () => {
    const tp = traceparent();
    await curlHttp2(`http://127.0.0.1:${nghttpd.port}/`, { priorKnowledge: true, extra: ['-H', `traceparent: ${tp.header}`] });
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(nghttpd.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.parentSpanId).toBe(tp.parentId);
  });

  it('gRPC: the same from call metadata', async () => {
    const tp = traceparent();
    const { results } = await runGrpcClient('node', `127.0.0.1:${grpcServer.port}`, ['unary:hello'], { metadata: { traceparent: tp.header } });
    expect(results[0]!.code).toBe(0);
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(grpcServer.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.name).toBe('grpc.examples.echo.Echo/UnaryEcho');
    expect(span!.parentSpanId).toBe(tp.parentId);
  });

  it('a trace the caller did not sample (flags 00) gives no span; the next request without one does', async () => {
    const unsampled = traceparent('00');
    const [a, b] = await curl([`http://127.0.0.1:${python.port}/`, `http://127.0.0.1:${python.port}/index.html`], ['-H', `traceparent: ${unsampled.header}`]);
    expect([a!.status, b!.status]).toEqual([200, 200]);
    // Same connection, a request after them without the header: once its span is in, theirs would have been too.
    const [after] = await curl([`http://127.0.0.1:${python.port}/index.html?after`]);
    await sonde.waitForSpans((s) => serverSpansOn(python.port)(s) && s.attributes['client.port'] === after!.localPort, 1);
    expect(sonde.spansWhere((s) => s.traceId === unsampled.traceId)).toEqual([]);
    expect(sonde.spansWhere((s) => serverSpansOn(python.port)(s) && s.attributes['client.port'] === a!.localPort)).toEqual([]);
  });
});

describe('both ends on this host, nothing injected', () => {
  /** The CLIENT span each SERVER span names as its parent: same trace, same path. */
  function expectParentedByClient(server: PrintedSpan[]): void {
    for (const s of server) {
      const [parent] = sonde.spansWhere((c) => c.spanId === s.parentSpanId);
      expect(parent, `the parent of ${String(s.attributes['url.path'])}`).toBeDefined();
      expect(parent!.kind).toBe('CLIENT');
      expect(parent!.traceId).toBe(s.traceId);
      expect(parent!.parentSpanId).toBe('');
      expect(String(parent!.attributes['url.full']).endsWith(String(s.attributes['url.path']))).toBe(true);
    }
  }

  it('curl to a Node server, three requests on one connection: each SERVER span the child of its CLIENT span, a trace each', async () => {
    const paths = ['/', '/status/404', '/chunked'];
    const results = await curl(paths.map((p) => `http://127.0.0.1:${node.port}${p}`));
    const port = results[0]!.localPort;
    expect(results.map((r) => r.localPort)).toEqual([port, port, port]);
    const server = await sonde.waitForSpans((s) => serverSpansOn(node.port)(s) && s.attributes['client.port'] === port, 3);
    await sonde.waitForSpans((s) => s.kind === 'CLIENT' && server.some((x) => x.parentSpanId === s.spanId), 3);
    expect(server.map((s) => s.attributes['url.path']).sort()).toEqual([...paths].sort());
    expectParentedByClient(server);
    expect(new Set(server.map((s) => s.traceId)).size).toBe(3);
  });

  it('ten curls at once to the Python server (a connection per request): every SERVER span parented by the CLIENT span of the same request', async () => {
    const runs = await Promise.all(
      Array.from({ length: 10 }, (_, i) => curl([1, 2].map((j) => `http://127.0.0.1:${python.port}/c${i}-${j}`))),
    );
    const ports = new Set(runs.flat().map((r) => r.localPort));
    const server = await sonde.waitForSpans((s) => serverSpansOn(python.port)(s) && ports.has(Number(s.attributes['client.port'])), 20);
    await sonde.waitForSpans((s) => s.kind === 'CLIENT' && server.some((x) => x.parentSpanId === s.spanId), 20);
    expectParentedByClient(server);
  });

  it('HTTP/2 (by stream) and a request that already carries a traceparent (it wins at both ends)', async () => {
    const tp = traceparent();
    await curlHttp2(`http://127.0.0.1:${nghttpd.port}/`, { priorKnowledge: true, extra: ['-H', `traceparent: ${tp.header}`] });
    await curlHttp2(`http://127.0.0.1:${nghttpd.port}/index.html`, { priorKnowledge: true });
    const [joined] = await sonde.waitForSpans((s) => serverSpansOn(nghttpd.port)(s) && s.attributes['url.path'] === '/index.html', 1);
    await sonde.waitForSpans((s) => s.spanId === joined!.parentSpanId, 1);
    expectParentedByClient([joined!]);
    const [client] = await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.traceId === tp.traceId, 1);
    expect(client!.spanId).toBe(tp.parentId);
  });
});

describe('a call made while serving a request (a thread per connection)', () => {
  /** curl -> Python relay -> Node: the four spans of one request, by their links. */
  function chainOf(curlSpan: PrintedSpan): PrintedSpan[] {
    const child = (parent: PrintedSpan, kind: string) => sonde.spansWhere((s) => s.parentSpanId === parent.spanId && s.kind === kind);
    const [relayIn] = child(curlSpan, 'SERVER');
    const [relayOut] = relayIn ? child(relayIn, 'CLIENT') : [];
    const [nodeIn] = relayOut ? child(relayOut, 'SERVER') : [];
    return [curlSpan, relayIn, relayOut, nodeIn].filter((s): s is PrintedSpan => s !== undefined);
  }

  it('a request that carries a traceparent keeps its trace id end to end', async () => {
    const tp = traceparent();
    const [r] = await curl([`http://127.0.0.1:${relay.port}/tp?to=http://127.0.0.1:${node.port}/tp-down`], ['-H', `traceparent: ${tp.header}`]);
    expect(r!.status).toBe(200);
    const [nodeIn] = await sonde.waitForSpans((s) => serverSpansOn(node.port)(s) && s.attributes['url.path'] === '/tp-down', 1);
    const [curlSpan] = await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.traceId === tp.traceId && s.attributes['server.port'] === relay.port, 1);
    // curl's span is the one the header names; the relay's and Node's hang below it.
    expect(curlSpan!.spanId).toBe(tp.parentId);
    expect(chainOf(curlSpan!).map((s) => [s.kind, s.traceId])).toEqual([
      ['CLIENT', tp.traceId],
      ['SERVER', tp.traceId],
      ['CLIENT', tp.traceId],
      ['SERVER', tp.traceId],
    ]);
    expect(chainOf(curlSpan!)[3]!.spanId).toBe(nodeIn!.spanId);
  });

  it.each([1, 10, 50])('curl -> Python relay -> Node with %i client(s) at once: one trace per request, each span the child of its caller', async (clients) => {
    const runs = await Promise.all(
      Array.from({ length: clients }, (_, i) => curl([`http://127.0.0.1:${relay.port}/r${i}?to=http://127.0.0.1:${node.port}/n${i}`])),
    );
    expect(runs.flat().map((r) => r.status)).toEqual(Array(clients).fill(200));
    const ports = new Set(runs.flat().map((r) => r.localPort));
    // The relay's SERVER spans for these requests, then the whole chain of each.
    const relayIn = await sonde.waitForSpans((s) => serverSpansOn(relay.port)(s) && ports.has(Number(s.attributes['client.port'])), clients);
    await sonde.waitForSpans((s) => serverSpansOn(node.port)(s) && relayIn.some((r) => r.traceId === s.traceId), clients);
    // curl's own spans end last (when it has read the answer): wait for each relay request's parent.
    await waitFor(() => relayIn.every((r) => sonde.spansWhere((s) => s.spanId === r.parentSpanId).length > 0), 'curl\'s spans', 10_000).catch(() => undefined);
    for (const r of relayIn) {
      const [curlSpan] = sonde.spansWhere((s) => s.spanId === r.parentSpanId);
      expect(curlSpan?.kind).toBe('CLIENT');
      const chain = chainOf(curlSpan!);
      expect(chain.map((s) => s.kind)).toEqual(['CLIENT', 'SERVER', 'CLIENT', 'SERVER']);
      expect(new Set(chain.map((s) => s.traceId)).size).toBe(1);
      expect(curlSpan!.parentSpanId).toBe('');
      // The Node request is the one this relay request asked for: /rN asked for /nN.
      expect(String(chain[3]!.attributes['url.path'])).toBe(String(chain[1]!.attributes['url.path']).replace('/r', '/n'));
    }
  });
});

describe('a call made while serving a request (an event-loop reverse proxy)', () => {
  it.each([1, 10, 50])('curl -> nginx -> Python relay -> Node with %i client(s) at once: nginx\'s upstream call is the child of the request it forwards', async (clients) => {
    const runs = await Promise.all(
      Array.from({ length: clients }, (_, i) => curl([`http://127.0.0.1:${proxy.port}/p${i}?to=http://127.0.0.1:${node.port}/q${i}`])),
    );
    expect(runs.flat().map((r) => r.status)).toEqual(Array(clients).fill(200));
    const ports = new Set(runs.flat().map((r) => r.localPort));
    const proxyIn = await sonde.waitForSpans((s) => serverSpansOn(proxy.port)(s) && ports.has(Number(s.attributes['client.port'])), clients);
    await sonde.waitForSpans((s) => serverSpansOn(node.port)(s) && proxyIn.some((r) => r.traceId === s.traceId), clients);
    const child = (parent: PrintedSpan, kind: string): PrintedSpan[] => sonde.spansWhere((s) => s.parentSpanId === parent.spanId && s.kind === kind);
    const chainOf = (p: PrintedSpan): Array<PrintedSpan | undefined> => {
      const [curlSpan] = sonde.spansWhere((s) => s.spanId === p.parentSpanId);
      const [proxyOut] = child(p, 'CLIENT');
      const [relayIn] = proxyOut ? child(proxyOut, 'SERVER') : [];
      const [relayOut] = relayIn ? child(relayIn, 'CLIENT') : [];
      const [nodeIn] = relayOut ? child(relayOut, 'SERVER') : [];
      return [curlSpan, p, proxyOut, relayIn, relayOut, nodeIn];
    };
    // Every span of every chain printed (curl's own span may come after the others); then each is checked.
    await waitFor(() => proxyIn.every((p) => chainOf(p).every((s) => s !== undefined)), 'every chain complete', 10_000).catch(() => undefined);
    for (const p of proxyIn) {
      const chain = chainOf(p);
      const [, , , relayIn, , nodeIn] = chain;
      expect(chain.map((s) => s?.kind)).toEqual(['CLIENT', 'SERVER', 'CLIENT', 'SERVER', 'CLIENT', 'SERVER']);
      expect(new Set(chain.map((s) => s!.traceId)).size).toBe(1);
      // Each hop carries the request it was asked for: /pN through to /qN.
      expect(String(relayIn!.attributes['url.path'])).toBe(String(p.attributes['url.path']));
      expect(String(nodeIn!.attributes['url.path'])).toBe(String(p.attributes['url.path']).replace('/p', '/q'));
    }
  });
});

