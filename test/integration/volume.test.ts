/**
 * Volume and loss: 10,000 requests become exactly 10,000 server spans and
 * 10,000 client spans with nothing lost; and when the ring buffer is made
 * too small on purpose, the losses are counted and reported, capture goes
 * on, and nothing crashes.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, ROOT, startSonde } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

const exec = promisify(execFile);
let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort());
});

afterAll(async () => {
  await server?.stop();
});

/**
 * The load client runs as a hard link of node with a name of its own, so
 * an exe selector picks it and no other Node process on the machine.
 */
function loadNode(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-load-'));
  const path = join(dir, 'sonde-load-node');
  try {
    linkSync(process.execPath, path);
  } catch {
    copyFileSync(process.execPath, path);
    chmodSync(path, 0o755);
  }
  return path;
}
const LOAD_NODE = loadNode();

async function load(path: string, n: number, concurrency: number): Promise<{ ok: number; errors: number; pid: number }> {
  const p = exec(LOAD_NODE, [join(ROOT, 'test/peers/load-client.mjs'), `http://127.0.0.1:${server.port}${path}`, String(n), String(concurrency)], {
    env: { ...process.env, OTEL_SERVICE_NAME: 'load-client' },
  });
  const pid = p.child.pid!;
  const { stdout } = await p;
  return { ...(JSON.parse(stdout) as { ok: number; errors: number }), pid };
}

describe('10,000 requests', () => {
  it('become exactly 10,000 SERVER and 10,000 CLIENT spans, and no record is lost', async () => {
    const sonde = startSonde(['--config', configFile(`discovery:\n  instrument:\n    - open_ports: "${server.port}"\n    - exe_path: "*/sonde-load-node"\n`)]);
    let loadPid = 0;
    try {
      await sonde.ready();
      const r = await load('/', 10_000, 8);
      loadPid = r.pid;
      expect(r).toMatchObject({ ok: 10_000, errors: 0 });
      await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.resource['process.pid'] === server.pid, 10_000, 60_000);
      await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === loadPid, 10_000, 60_000);
    } finally {
      await sonde.stop();
    }
    expect(sonde.spansWhere((s) => s.kind === 'SERVER' && s.resource['process.pid'] === server.pid)).toHaveLength(10_000);
    expect(sonde.spansWhere((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === loadPid)).toHaveLength(10_000);
    const stopped = sonde.logs.find((l) => l.msg === 'sonde stopped')!;
    expect(stopped['kernel']).toMatchObject({ lostDataRecords: 0, lostControlRecords: 0 });
    expect(stopped['parseErrors']).toEqual({});
  }, 120_000);
});

describe('a reader that stops reading the printed spans', () => {
  it('does not stop Sonde: spans past the printer limit are dropped and counted', async () => {
    const sonde = startSonde(['--open-port', String(server.port)], {}, { readSpans: false });
    let stopped: Record<string, unknown> | undefined;
    try {
      await sonde.ready();
      // ~800 bytes of JSON a span: far more than the pipe and the printer's 4 MiB hold.
      expect(await load('/', 10_000, 8)).toMatchObject({ ok: 10_000, errors: 0 });
      // Every record is in the ring by now: stopping drains it.
      const started = Date.now();
      expect(await sonde.stop('SIGINT', 20_000)).toBe(0);
      expect(Date.now() - started).toBeLessThan(10_000);
      stopped = sonde.logs.find((l) => l.msg === 'sonde stopped');
    } finally {
      await sonde.stop();
    }
    const [printer] = stopped!['export'] as Array<{ exported: number; failed: number; dropped: number }>;
    expect(stopped!['spans']).toBe(10_000);
    expect(printer!.dropped).toBeGreaterThan(0);
    expect(printer!.exported + printer!.failed + printer!.dropped).toBe(10_000);
  }, 60_000);
});

describe('a ring buffer too small for the traffic', () => {
  it('counts and reports the lost records, and keeps capturing', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--capture-size', '16384'], {
      SONDE_RING_BUFFER_SIZE: String(1 << 16),
      SONDE_DRAIN_INTERVAL: '1000',
    });
    try {
      await sonde.ready();
      await load('/big', 200, 8);
      const warning = await waitFor(() => sonde.logs.find((l) => l.msg.startsWith('records lost in the kernel')), 'the lost-records warning', 15_000);
      expect(warning['lostDataRecords']).toBeGreaterThan(0);
      // Still capturing afterwards.
      const [r] = await curl([`http://127.0.0.1:${server.port}/status/201`]);
      await sonde.waitForSpans((s) => s.attributes['client.port'] === r!.localPort, 1, 15_000);
    } finally {
      expect(await sonde.stop()).toBe(0);
    }
    const kernel = sonde.logs.find((l) => l.msg === 'sonde stopped')!['kernel'] as { lostDataRecords: number };
    expect(kernel.lostDataRecords).toBeGreaterThan(0);
  });
});
