/**
 * Which processes are traced: every process by default (but never Sonde
 * itself, nor the receiving end of its own exports), or the ones the
 * selectors pick, including those that start listening after Sonde.
 * Processes not selected cost no records in the kernel.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startHttpReceiver } from '../helpers/otlpReceiver.js';
import { startSonde } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

let a: Peer;
let b: Peer;

beforeAll(async () => {
  a = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'server-a' });
  b = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'server-b' });
});

afterAll(async () => {
  await a?.stop();
  await b?.stop();
});

describe('with no selector', () => {
  it('traces every process, never Sonde, and not the receiver of its own exports', async () => {
    const receiver = await startHttpReceiver(await freePort());
    const sonde = startSonde(['--print', 'json'], {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
      OTEL_BSP_SCHEDULE_DELAY: '50',
    });
    try {
      await sonde.ready();
      const [r] = await curl([`http://127.0.0.1:${a.port}/status/204`]);
      await sonde.waitForSpans((s) => s.resource['service.name'] === 'server-a', 1);
      await sonde.waitForSpans((s) => s.resource['service.name'] === 'curl', 1);
      await waitFor(() => receiver.spans.some((s) => s.attributes['client.port'] === r!.localPort), 'the export to arrive');
      // More exports happen; none of them may show up as spans of the receiving process.
      await curl([`http://127.0.0.1:${a.port}/`]);
      await waitFor(() => receiver.requests >= 2, 'a second export');
      const sondePid = sonde.child.pid;
      expect(sonde.spansWhere((s) => s.resource['process.pid'] === sondePid)).toEqual([]);
      expect(sonde.spansWhere((s) => s.attributes['server.port'] === receiver.port)).toEqual([]);
      expect(sonde.spansWhere((s) => s.attributes['url.path'] === '/v1/traces')).toEqual([]);
    } finally {
      await sonde.stop();
      await receiver.close();
    }
  });
});

describe('with selectors', () => {
  it('--pid traces that process only; traffic of the others costs no kernel records', async () => {
    const sonde = startSonde(['--pid', String(a.pid)]);
    try {
      await sonde.ready();
      for (let i = 0; i < 20; i++) await curl([`http://127.0.0.1:${b.port}/`]);
      const [r] = await curl([`http://127.0.0.1:${a.port}/status/202`]);
      await sonde.waitForSpans((s) => s.attributes['client.port'] === r!.localPort, 1);
    } finally {
      await sonde.stop();
    }
    expect(sonde.spansWhere((s) => s.resource['service.name'] !== 'server-a')).toEqual([]);
    // Traced, server-b's 20 exchanges would be at least 60 records (request, response, EOF);
    // server-a's one is a handful: 7 here, once 22 in a fresh-clone run (its records were not
    // kept; a loaded machine splits reads and writes), so the bound sits between the two cases.
    const kernel = sonde.logs.find((l) => l.msg === 'sonde stopped')!['kernel'] as { dataRecords: number };
    expect(kernel.dataRecords).toBeGreaterThan(0);
    expect(kernel.dataRecords).toBeLessThan(40);
  });

  it('--open-port picks up a server that starts listening after Sonde, within a second', async () => {
    const port = await freePort();
    const sonde = startSonde(['--open-port', `${port - 1}-${port + 1}`]);
    let late: Peer | undefined;
    try {
      await sonde.ready();
      late = await startNodeServer(port, '127.0.0.1', { OTEL_SERVICE_NAME: 'late-server' });
      const started = Date.now();
      await waitFor(() => sonde.logs.find((l) => l.msg === 'process selected' && l['pid'] === late!.pid), 'Sonde to select the new server', 1000);
      expect(Date.now() - started).toBeLessThan(1000);
      const [r] = await curl([`http://127.0.0.1:${port}/status/201`]);
      const [span] = await sonde.waitForSpans((s) => s.attributes['client.port'] === r!.localPort, 1);
      expect(span!.resource['service.name']).toBe('late-server');
    } finally {
      await sonde.stop();
      await late?.stop();
    }
  });
});
