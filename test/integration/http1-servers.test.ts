/**
 * Real servers (python3 http.server, a Node http server, nginx) traced by
 * the real `sonde run`, driven by curl and raw sockets: exactly one SERVER
 * span per request, with the right method, path, status, service, peer
 * and a duration inside what the client measured.
 */
import { readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNginx, startNodeServer, startPython, type CurlResult, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { durationNs, startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';

let sonde: SondeProcess;
let python: Peer;
let node: Peer;
let dual: Peer;
let nginx: Peer;

beforeAll(async () => {
  python = await startPython(await freePort(), { OTEL_SERVICE_NAME: 'py-files' });
  node = await startNodeServer(await freePort());
  dual = await startNodeServer(await freePort(), '::', { OTEL_RESOURCE_ATTRIBUTES: 'service.name=dual-stack,deployment.environment=test' });
  nginx = await startNginx(await freePort());
  sonde = startSonde(['--open-port', [python.port, node.port, dual.port, nginx.port].join(',')]);
  await sonde.ready();
});

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([python, node, dual, nginx].map((p) => p?.stop()));
});

/**
 * The server spans of requests from this client port to this server port,
 * in time order. Both ports: the kernel may give one client port to two
 * connections to different servers.
 */
const fromTo = (clientPort: number, serverPort: number) => (s: PrintedSpan): boolean =>
  s.kind === 'SERVER' && s.attributes['client.port'] === clientPort && s.attributes['server.port'] === serverPort;

function serverSpansFrom(clientPort: number, serverPort: number): PrintedSpan[] {
  return sonde
    .spansWhere(fromTo(clientPort, serverPort))
    .sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1));
}

async function spansFor(results: CurlResult[]): Promise<PrintedSpan[]> {
  const client = results[0]!.localPort;
  const server = Number(new URL(results[0]!.url).port);
  await sonde.waitForSpans(fromTo(client, server), results.length);
  return serverSpansFrom(client, server);
}

function expectSpan(span: PrintedSpan, want: { method: string; path: string; status: number; service: string; measured: CurlResult }): void {
  expect(span.name).toBe(want.method);
  expect(span.kind).toBe('SERVER');
  expect(span.attributes['http.request.method']).toBe(want.method);
  expect(span.attributes['url.path']).toBe(want.path);
  expect(span.attributes['url.scheme']).toBe('http');
  expect(span.attributes['http.response.status_code']).toBe(want.status);
  expect(span.resource['service.name']).toBe(want.service);
  expect(span.attributes['network.peer.address']).toBe(want.measured.localIp);
  expect(span.attributes['network.peer.port']).toBe(want.measured.localPort);
  expect(span.attributes['user_agent.original']).toMatch(/^curl\//);
  const d = durationNs(span);
  expect(d).toBeGreaterThan(0);
  expect(d).toBeLessThanOrEqual(want.measured.timeTotal * 1e9);
  expect(span.status.code).toBe(want.status >= 500 ? 'ERROR' : 'UNSET');
}

const exeName = (pid: number): string => basename(readlinkSync(`/proc/${pid}/exe`));

describe('python3 -m http.server', () => {
  it('GET / and a 404: one span each, named by OTEL_SERVICE_NAME', async () => {
    const results = await curl([`http://127.0.0.1:${python.port}/`]);
    const [ok] = await spansFor(results);
    expectSpan(ok!, { method: 'GET', path: '/', status: 200, service: 'py-files', measured: results[0]! });
    expect(ok!.resource['process.pid']).toBe(python.pid);
    expect(ok!.attributes['http.response.body.size']).toBe(results[0]!.sizeDownload);

    const missing = await curl([`http://127.0.0.1:${python.port}/no/such/file`]);
    const spans = await spansFor(missing);
    expect(spans).toHaveLength(1);
    expectSpan(spans[0]!, { method: 'GET', path: '/no/such/file', status: 404, service: 'py-files', measured: missing[0]! });
  });
});

describe('Node http server', () => {
  it('keep-alive: three requests on one connection, three spans', async () => {
    const urls = ['/', '/status/201', '/slow?ms=30'].map((p) => `http://127.0.0.1:${node.port}${p}`);
    const results = await curl(urls);
    expect(new Set(results.map((r) => r.localPort)).size).toBe(1);
    const spans = await spansFor(results);
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.attributes['url.path'])).toEqual(['/', '/status/201', '/slow']);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([200, 201, 200]);
    expect(spans.every((s) => s.resource['service.name'] === exeName(node.pid))).toBe(true);
    // Node fires its 30 ms timer against the loop's cached clock: up to a millisecond early.
    expect(durationNs(spans[2]!)).toBeGreaterThanOrEqual(29e6);
    expect(spans[2]!.attributes['url.query']).toBeUndefined(); // off by default
  });

  it('a chunked response', async () => {
    const results = await curl([`http://127.0.0.1:${node.port}/chunked`]);
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'GET', path: '/chunked', status: 200, service: exeName(node.pid), measured: results[0]! });
    expect(span!.attributes['http.response.body.size']).toBe('first chunk\nsecond chunk\nlast chunk\n'.length);
  });

  it('a 1 MiB body, far larger than the capture size, then another request on the connection', async () => {
    const results = await curl([`http://127.0.0.1:${node.port}/big`, `http://127.0.0.1:${node.port}/`]);
    const spans = await spansFor(results);
    expect(spans).toHaveLength(2);
    expectSpan(spans[0]!, { method: 'GET', path: '/big', status: 200, service: exeName(node.pid), measured: results[0]! });
    expect(spans[0]!.attributes['http.response.body.size']).toBe(1 << 20);
    expect(spans[1]!.attributes['url.path']).toBe('/');
  });

  it('a 500 is an error on the server span', async () => {
    const results = await curl([`http://127.0.0.1:${node.port}/status/500`]);
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'GET', path: '/status/500', status: 500, service: exeName(node.pid), measured: results[0]! });
    expect(span!.attributes['error.type']).toBe('500');
  });

  it('a POST with a body', async () => {
    const results = await curl([`http://127.0.0.1:${node.port}/echo`], ['--data-binary', 'x'.repeat(5000)]);
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'POST', path: '/echo', status: 200, service: exeName(node.pid), measured: results[0]! });
    expect(span!.attributes['http.request.body.size']).toBe(5000);
  });

  it('pipelining: three requests in one write, three spans in order', async () => {
    const sock = connect({ port: node.port, host: '127.0.0.1' });
    await new Promise((r) => sock.once('connect', r));
    const localPort = sock.localPort!;
    let received = '';
    sock.on('data', (d) => (received += d.toString('latin1')));
    const started = process.hrtime.bigint();
    sock.write(['/status/202', '/', '/status/404'].map((p) => `GET ${p} HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/pipeline\r\n\r\n`).join(''));
    await new Promise<void>((resolve) => {
      const check = (): void => void ((received.match(/HTTP\/1\.1 /g)?.length ?? 0) >= 3 ? resolve() : setTimeout(check, 5));
      check();
    });
    const elapsed = Number(process.hrtime.bigint() - started);
    sock.destroy();
    await sonde.waitForSpans(fromTo(localPort, node.port), 3);
    const spans = serverSpansFrom(localPort, node.port);
    expect(spans).toHaveLength(3);
    expect(spans.map((s) => s.attributes['http.response.status_code'])).toEqual([202, 200, 404]);
    for (const s of spans) expect(durationNs(s)).toBeLessThanOrEqual(elapsed);
  });

  it('a dual-stack listener reports an IPv4 client as IPv4 (v4-mapped), named from OTEL_RESOURCE_ATTRIBUTES', async () => {
    const results = await curl([`http://127.0.0.1:${dual.port}/`]);
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'GET', path: '/', status: 200, service: 'dual-stack', measured: results[0]! });
    expect(span!.attributes['network.peer.address']).toBe('127.0.0.1');
    expect(span!.resource['deployment.environment']).toBe('test');
  });
});

describe('nginx', () => {
  it('a static 1 MiB file (sent with sendfile) and a page on one connection', async () => {
    const results = await curl([`http://127.0.0.1:${nginx.port}/big.bin`, `http://127.0.0.1:${nginx.port}/index.html`]);
    const spans = await spansFor(results);
    expect(spans).toHaveLength(2);
    expectSpan(spans[0]!, { method: 'GET', path: '/big.bin', status: 200, service: 'nginx', measured: results[0]! });
    expect(spans[0]!.attributes['http.response.body.size']).toBe(1 << 20);
    expectSpan(spans[1]!, { method: 'GET', path: '/index.html', status: 200, service: 'nginx', measured: results[1]! });
  });

  it('a 404', async () => {
    const results = await curl([`http://127.0.0.1:${nginx.port}/missing`]);
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'GET', path: '/missing', status: 404, service: 'nginx', measured: results[0]! });
  });

  it('IPv6', async () => {
    const results = await curl([`http://[::1]:${nginx.port}/index.html`]);
    expect(results[0]!.localIp).toBe('::1');
    const [span] = await spansFor(results);
    expectSpan(span!, { method: 'GET', path: '/index.html', status: 200, service: 'nginx', measured: results[0]! });
    expect(span!.attributes['network.peer.address']).toBe('::1');
    expect(span!.attributes['server.address']).toBe('::1');
  });
});

describe('only what was selected', () => {
  it('curl itself was not traced: no CLIENT spans', () => {
    expect(sonde.spansWhere((s) => s.kind === 'CLIENT')).toEqual([]);
  });
});
