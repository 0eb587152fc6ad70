/**
 * `sonde record` writes what the kernel handed over; `sonde replay` turns
 * it into the same spans again, without a kernel, privileges or the
 * processes that made them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { ROOT, SondeProcess, type PrintedSpan } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';

const exec = promisify(execFile);
let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'recorded-server' });
});

afterAll(async () => {
  await server?.stop();
});

const comparable = (s: PrintedSpan): unknown => ({ ...s, traceId: undefined, spanId: undefined });

describe('record and replay', () => {
  it('replaying a recording gives the spans the live run printed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'sonde-rec-')), 'session.sonde');
    const sonde = new SondeProcess(
      spawnTied(join(ROOT, 'sonde'), ['record', file, '--print', 'json', '--open-port', String(server.port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGTERM'),
    );
    try {
      await sonde.ready();
      const results = await curl(['/', '/status/404', '/chunked', '/big'].map((p) => `http://127.0.0.1:${server.port}${p}`));
      await sonde.waitForSpans((s) => s.attributes['client.port'] === results[0]!.localPort, 4);
    } finally {
      expect(await sonde.stop()).toBe(0);
    }
    expect(statSync(file).size).toBeGreaterThan(1000);

    // No root needed to replay: it reads a file.
    const { stdout, stderr } = await exec(join(ROOT, 'sonde'), ['replay', file, '--print', 'json'], { cwd: ROOT, env: { ...process.env, OTEL_EBPF_LOG_LEVEL: 'info' } });
    const replayed = stdout.trim().split('\n').map((l) => JSON.parse(l) as PrintedSpan);
    expect(replayed.map(comparable)).toEqual(sonde.spans.map(comparable));
    expect(replayed.map((s) => s.resource['service.name'])).toEqual(['recorded-server', 'recorded-server', 'recorded-server', 'recorded-server']);
    const done = stderr.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; spans?: number; records?: number }).find((l) => l.msg === 'replay done');
    expect(done?.spans).toBe(4);
  });

  it('says plainly when a file is not a recording', async () => {
    const r = await exec(join(ROOT, 'sonde'), ['replay', join(ROOT, 'package.json')], { cwd: ROOT }).catch((e: { code: number; stderr: string }) => e);
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr).toContain('is not a Sonde recording');
  });
});
