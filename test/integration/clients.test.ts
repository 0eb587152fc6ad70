/**
 * CLIENT spans from traced client processes, both started after Sonde
 * (so picked up from their exec): curl and a Node client. A request from
 * one traced process to another on this host shows both its CLIENT and
 * its SERVER span.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, nodeClient, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, durationNs, startSonde, type SondeProcess } from '../helpers/sonde.js';

let sonde: SondeProcess;
let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'backend' });
  sonde = startSonde([
    '--config',
    configFile(`discovery:\n  instrument:\n    - exe_path: "*/curl"\n    - open_ports: "${server.port}"\n    - exe_path: "*/node"\n`),
  ]);
  await sonde.ready();
});

afterAll(async () => {
  await sonde?.stop();
  await server?.stop();
});

describe('client spans', () => {
  it('curl, started after Sonde: a CLIENT span, and the server its SERVER span', async () => {
    const before = Date.now();
    const [r] = await curl([`http://127.0.0.1:${server.port}/status/203?token=secret`]);
    const fromCurl = (s: { attributes: Record<string, unknown> }): boolean =>
      s.attributes['network.peer.port'] === r!.localPort || s.attributes['client.port'] === r!.localPort;
    // Other tests run curl at the same time: this one is the curl that called our server.
    const ours = (s: { kind: string; resource: Record<string, unknown>; attributes: Record<string, unknown> }): boolean =>
      s.kind === 'CLIENT' && s.resource['service.name'] === 'curl' && s.attributes['network.peer.port'] === server.port;
    await sonde.waitForSpans(ours, 1);
    await sonde.waitForSpans((s) => s.kind === 'SERVER' && fromCurl(s), 1);

    const clients = sonde.spansWhere(ours);
    expect(clients).toHaveLength(1);
    const c = clients[0]!;
    expect(c.name).toBe('GET');
    expect(c.attributes['url.full']).toBe(`http://127.0.0.1:${server.port}/status/203`);
    expect(c.attributes['server.address']).toBe('127.0.0.1');
    expect(c.attributes['server.port']).toBe(server.port);
    expect(c.attributes['network.peer.address']).toBe('127.0.0.1');
    expect(c.attributes['network.peer.port']).toBe(server.port);
    expect(c.attributes['http.response.status_code']).toBe(203);
    expect(c.status.code).toBe('UNSET');
    expect(durationNs(c)).toBeLessThanOrEqual(r!.timeTotal * 1e9);
    expect(Number(BigInt(c.startTimeUnixNano) / 1_000_000n)).toBeGreaterThanOrEqual(before - 5);

    const servers = sonde.spansWhere((s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort);
    expect(servers).toHaveLength(1);
    expect(servers[0]!.resource['service.name']).toBe('backend');
    // The server's span lies within the client's (at the end, within the few microseconds
    // by which the server's write may return after loopback delivered it: 200 µs allowed).
    expect(BigInt(servers[0]!.startTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(c.startTimeUnixNano));
    expect(BigInt(servers[0]!.endTimeUnixNano)).toBeLessThanOrEqual(BigInt(c.endTimeUnixNano) + 200_000n);
  });

  it('a client gone before Sonde could read its /proc is judged and named by what the kernel saw at its exec', async () => {
    // Sonde is stopped while curl runs, so curl has exited (and been reaped)
    // when Sonde reads its exec record: only the record can say what it was.
    process.kill(sonde.child.pid!, 'SIGSTOP');
    let r;
    try {
      [r] = await curl([`http://127.0.0.1:${server.port}/short`], [], { OTEL_SERVICE_NAME: 'short-lived', OTEL_RESOURCE_ATTRIBUTES: 'team=edge' });
    } finally {
      process.kill(sonde.child.pid!, 'SIGCONT');
    }
    const [c] = await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['service.name'] === 'short-lived', 1);
    expect(c!.attributes['url.full']).toBe(`http://127.0.0.1:${server.port}/short`);
    expect(c!.resource['team']).toBe('edge');
    expect(c!.resource['process.executable.path']).toMatch(/\/curl$/);
    expect(durationNs(c!)).toBeLessThanOrEqual(r!.timeTotal * 1e9);
  });

  it('a Node client: one CLIENT span per request on a keep-alive connection; 4xx is an error', async () => {
    const urls = ['/', '/status/404', '/slow?ms=20'].map((p) => `http://127.0.0.1:${server.port}${p}`);
    const { pid, results } = await nodeClient(urls, { OTEL_SERVICE_NAME: 'frontend' });
    const spans = await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === pid, 3);
    expect(spans).toHaveLength(3);
    spans.sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
    expect(spans.map((s) => s.attributes['url.full'])).toEqual(urls.map((u) => u.replace('?ms=20', '')));
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 404, 200]);
    expect(spans.map((s) => s.status.code)).toEqual(['UNSET', 'ERROR', 'UNSET']);
    expect(spans[1]!.attributes['error.type']).toBe('404');
    spans.forEach((s, i) => {
      expect(s.resource['service.name']).toBe('frontend');
      expect(durationNs(s)).toBeLessThanOrEqual(results[i]!.durationNs);
    });
    expect(durationNs(spans[2]!)).toBeGreaterThanOrEqual(19e6); // Node timers may fire up to 1 ms early
  });
});
