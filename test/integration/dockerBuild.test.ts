/**
 * The Dockerfile's build, run on this machine without Docker
 * (scripts/docker/check.mjs follows its COPY and RUN lines): the runtime
 * stage holds the built BPF objects and production packages only, and
 * Sonde runs from it, tracing a request.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it, onTestFinished } from 'vitest';
import { curl, startNodeServer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { ROOT, SondeProcess } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';

const exec = promisify(execFile);

describe('the Dockerfile, as a script', () => {
  it('builds an /opt/sonde that has no toolchain or dev packages, and traces', async () => {
    const work = mkdtempSync(join(tmpdir(), 'sonde-docker-'));
    onTestFinished(() => rmSync(work, { recursive: true, force: true }));
    const { stdout } = await exec(process.execPath, [join(ROOT, 'scripts/docker/check.mjs'), work], { cwd: ROOT, maxBuffer: 64 << 20, env: { ...process.env, SONDE_SKIP_APT: '1' } });
    const image = stdout.trim().split('\n').at(-1)!;
    expect(readdirSync(image).sort()).toEqual(['dist', 'node_modules', 'package.json', 'sonde']);
    expect(readdirSync(join(image, 'dist/bpf')).filter((f) => f.endsWith('.o')).length).toBeGreaterThan(0);
    for (const dev of ['vitest', 'typescript', 'kubernetes-models']) expect(existsSync(join(image, 'node_modules', dev)), dev).toBe(false);
    const doctor = JSON.parse((await exec(join(image, 'sonde'), ['doctor', '--json'])).stdout) as { ready: boolean };
    expect(doctor.ready).toBe(true);

    const server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'from-image' });
    const sonde = new SondeProcess(
      spawnTied(join(image, 'sonde'), ['run', '--print', 'json', '--open-port', String(server.port)], { cwd: image, stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGTERM'),
    );
    try {
      await sonde.ready();
      const [r] = await curl([`http://127.0.0.1:${server.port}/status/200`]);
      const [span] = await sonde.waitForSpans((s) => s.attributes['client.port'] === r!.localPort, 1);
      expect(span!.resource['service.name']).toBe('from-image');
    } finally {
      await sonde.stop();
      await server.stop();
    }
  }, 600_000);
});
