/**
 * Connections opened before Sonde started: their later requests are
 * traced, from both ends, and the requests before Sonde are not invented.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde, type SondeProcess } from '../helpers/sonde.js';

let server: Peer;
let sonde: SondeProcess | undefined;
let sock: Socket;
let received = '';

function exchange(path: string): Promise<void> {
  const want = (received.match(/HTTP\/1\.1 /g)?.length ?? 0) + 1;
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test/preexisting\r\n\r\n`);
  return new Promise((resolve) => {
    const check = (): void => void ((received.match(/HTTP\/1\.1 /g)?.length ?? 0) >= want ? resolve() : setTimeout(check, 5));
    check();
  });
}

beforeAll(async () => {
  server = await startNodeServer(await freePort());
  sock = connect({ port: server.port, host: '127.0.0.1' });
  sock.on('data', (d) => (received += d.toString('latin1')));
  await new Promise((r) => sock.once('connect', r));
  await exchange('/status/201'); // before Sonde: must not become a span
});

afterAll(async () => {
  sock?.destroy();
  await sonde?.stop();
  await server?.stop();
});

describe('a connection opened before Sonde', () => {
  it('later requests on it are traced on the server and on the client (this test process)', async () => {
    sonde = startSonde([
      '--config',
      configFile(`discovery:\n  instrument:\n    - open_ports: "${server.port}"\n    - target_pids: [${process.pid}]\n`),
    ]);
    await sonde.ready();
    await exchange('/status/202');
    await exchange('/status/203');
    const port = sock.localPort!;
    const server_ = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['client.port'] === port, 2);
    const client = await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === process.pid, 2);
    const statuses = (xs: typeof server_): unknown[] =>
      [...xs].sort((a, b) => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1)).map((s) => s.attributes['http.response.status_code']);
    expect(statuses(server_)).toEqual([202, 203]);
    expect(statuses(client)).toEqual([202, 203]);
    expect(client.every((s) => s.attributes['network.peer.port'] === server.port)).toBe(true);
    expect(sonde.spansWhere((s) => s.attributes['http.response.status_code'] === 201)).toEqual([]);
  });
});
