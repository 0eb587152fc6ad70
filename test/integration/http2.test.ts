/**
 * Plain HTTP/2 through the real `sonde run`: nghttpd with nghttp and curl
 * (prior knowledge), h2load's many streams, and Go's net/http server with
 * curl's HTTP/1.1 Upgrade to h2c. One span per stream, with method, path
 * and status, network.protocol.version 2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curlHttp2, runH2load, runNghttp, startGoHttp2Server, startNghttpd } from '../helpers/http2.js';
import type { Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';

let sonde: SondeProcess;
let nghttpd: Peer;
let goH2: Peer;

beforeAll(async () => {
  nghttpd = await startNghttpd(await freePort());
  goH2 = await startGoHttp2Server(await freePort());
  sonde = startSonde(['--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${nghttpd.port},${goH2.port}"\n`)]);
  await sonde.ready();
}, 120_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([nghttpd, goH2].map((p) => p?.stop()));
});

const serverSpans = (port: number) => (s: PrintedSpan): boolean => s.kind === 'SERVER' && s.attributes['server.port'] === port;

describe('HTTP/2 with prior knowledge', () => {
  it('nghttp to nghttpd: three streams on one connection, one SERVER span each', async () => {
    const before = sonde.spansWhere(serverSpans(nghttpd.port)).length;
    const urls = ['/index.html', '/big.bin', '/missing'].map((p) => `http://127.0.0.1:${nghttpd.port}${p}`);
    const { responses, exitCode } = await runNghttp(urls);
    expect(exitCode).toBe(0);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 404]);
    const spans = (await sonde.waitForSpans(serverSpans(nghttpd.port), before + 3)).slice(before);
    expect(spans.map((s) => [s.attributes['url.path'], s.attributes['http.response.status_code']]).sort()).toEqual([
      ['/big.bin', 200],
      ['/index.html', 200],
      ['/missing', 404],
    ]);
    for (const s of spans) {
      expect(s.name).toBe('GET');
      expect(s.attributes['network.protocol.version']).toBe('2');
    }
    expect(new Set(spans.map((s) => s.attributes['client.port'])).size).toBe(1);
  });

  it('curl --http2-prior-knowledge to nghttpd: one span', async () => {
    const { results } = await curlHttp2([`http://127.0.0.1:${nghttpd.port}/index.html`], { priorKnowledge: true });
    expect(results[0]!.status).toBe(200);
    const [span] = await sonde.waitForSpans((s) => serverSpans(nghttpd.port)(s) && s.attributes['client.port'] === results[0]!.localPort, 1);
    expect(span!.attributes['url.path']).toBe('/index.html');
    expect(span!.attributes['user_agent.original']).toMatch(/^curl\//);
  });

  it('h2load: 400 requests over 4 connections, 25 streams each at once: 400 spans', async () => {
    const before = sonde.spansWhere(serverSpans(nghttpd.port)).length;
    const r = await runH2load(`http://127.0.0.1:${nghttpd.port}/index.html`, { requests: 400, clients: 4, streams: 25 });
    expect(r.requests.succeeded).toBe(400);
    const spans = await sonde.waitForSpans(serverSpans(nghttpd.port), before + 400);
    expect(spans.length - before).toBe(400);
  });
});

describe('h2c by HTTP/1.1 Upgrade', () => {
  it('curl --http2 to a Go net/http server: the upgraded request is one HTTP/2 span, no 101 span', async () => {
    const { results } = await curlHttp2([`http://127.0.0.1:${goH2.port}/`]);
    expect(results[0]!.status).toBe(200);
    expect(results[0]!.httpVersion).toBe('2');
    const spans = await sonde.waitForSpans((s) => serverSpans(goH2.port)(s) && s.attributes['client.port'] === results[0]!.localPort, 1);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.attributes['http.response.status_code']).toBe(200);
    expect(spans[0]!.attributes['network.protocol.version']).toBe('2');
  });
});
