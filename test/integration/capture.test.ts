/**
 * The capture paths this kernel can run: tracepoint mode with the
 * socket found through the task's file table (the path of kernels
 * without sock_*_length), a small capture size with true lengths
 * preserved, and kprobe mode verified by this kernel but refused at
 * attach (no CONFIG_KPROBES here), so `run` reports it.
 */
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Verdict } from '../../collector/ebpf/abi.js';
import { KernelCapture } from '../../collector/ebpf/KernelCapture.js';
import { probeKernelFeatures } from '../../collector/ebpf/features.js';
import { setLibbpfPrint } from '../../collector/ebpf/libbpf.js';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { durationNs, ROOT, startSonde } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort());
});

afterAll(async () => {
  await server?.stop();
});

describe('tracepoint mode, sockets found through the task file table', () => {
  it('gives the same spans as the sock_*_length path', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--socket-lookup', 'fd-table']);
    try {
      await sonde.ready();
      expect(sonde.logs.find((l) => l.msg === 'sonde capturing')).toMatchObject({ mode: 'tracepoint', socketLookup: 'fd-table' });
      const results = await curl([`http://127.0.0.1:${server.port}/`, `http://127.0.0.1:${server.port}/status/404`]);
      const spans = await sonde.waitForSpans((s) => s.attributes['client.port'] === results[0]!.localPort, 2);
      expect(spans.map((s) => [s.attributes['url.path'], s.attributes['http.response.status_code']]).sort()).toEqual([
        ['/', 200],
        ['/status/404', 404],
      ]);
      for (const s of spans) expect(durationNs(s)).toBeLessThanOrEqual(results[0]!.timeTotal * 1e9 + results[1]!.timeTotal * 1e9);
    } finally {
      await sonde.stop();
    }
  });
});

describe('capture size', () => {
  it('copies at most --capture-size bytes per call, and the true lengths still frame the bodies', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--capture-size', '256']);
    try {
      await sonde.ready();
      const [post] = await curl([`http://127.0.0.1:${server.port}/echo`], ['--data-binary', 'y'.repeat(100_000)]);
      const gets = await curl([`http://127.0.0.1:${server.port}/big`, `http://127.0.0.1:${server.port}/status/202`]);
      const [echo] = await sonde.waitForSpans((s) => s.attributes['client.port'] === post!.localPort, 1);
      const spans = await sonde.waitForSpans((s) => s.attributes['client.port'] === gets[0]!.localPort, 2);
      const byPath = Object.fromEntries(spans.map((s) => [s.attributes['url.path'], s]));
      expect(echo!.attributes['http.request.body.size']).toBe(100_000);
      expect(echo!.name).toBe('POST');
      // A 1 MiB response framed by its length, then the next response on the connection.
      expect(byPath['/big']!.attributes['http.response.body.size']).toBe(1 << 20);
      expect(byPath['/status/202']!.attributes['http.response.status_code']).toBe(202);
    } finally {
      await sonde.stop();
    }
    const kernel = sonde.logs.find((l) => l.msg === 'sonde stopped')!['kernel'] as { dataBytes: number; capturedBytes: number; dataRecords: number };
    expect(kernel.dataBytes).toBeGreaterThan(100_000 + (1 << 20));
    expect(kernel.capturedBytes).toBeLessThanOrEqual(256 * kernel.dataRecords);
    expect(kernel.capturedBytes).toBeLessThan(kernel.dataBytes / 100);
  });
});

describe('message boundaries inside long reads', () => {
  it('once a long body is announced, the kernel copies from where it ends: the next request in the same read is seen', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--capture-size', '256', '--log-level', 'debug']);
    await sonde.ready();
    const sock = connect({ port: server.port, host: '127.0.0.1' });
    try {
      await new Promise((r) => sock.once('connect', r));
      let received = '';
      sock.on('data', (d: Buffer) => (received += d.toString('latin1')));
      const body = 'q'.repeat(100_000);
      const head = 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n';
      sock.write(head + body.slice(0, 50_000));
      // Sonde has parsed the head and told the kernel where this body ends.
      await waitFor(() => sonde.logs.find((l) => l.msg === 'capture changed' && (l['from'] as unknown[]).some((at) => at !== null)), 'the skip hint');
      // The rest of the body and the next request in one write: far past the 256 bytes copied per read.
      sock.write(body.slice(50_000) + 'GET /status/203 HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => /HTTP\/1\.1 203/.test(received), 'both responses');
      const spans = await sonde.waitForSpans((s) => s.attributes['client.port'] === sock.localPort, 2);
      expect(spans.map((s) => [s.attributes['url.path'], s.attributes['http.request.body.size']]).sort()).toEqual([
        ['/echo', 100_000],
        ['/status/203', 0],
      ]);
    } finally {
      sock.destroy();
      await sonde.stop();
    }
    const stopped = sonde.logs.find((l) => l.msg === 'sonde stopped')!;
    expect(stopped['parseErrors']).toEqual({});
    expect((stopped['kernel'] as { capturedBytes: number }).capturedBytes).toBeLessThan(2048);
  });
});

describe('kprobe mode on a kernel without kprobes', () => {
  it('its programs pass this kernel verifier; attaching is what is refused', () => {
    setLibbpfPrint(null);
    const features = probeKernelFeatures(join(ROOT, 'dist/bpf'));
    expect(features.kprobes.ok).toBe(false);
    const capture = KernelCapture.load({
      bpfDir: join(ROOT, 'dist/bpf'),
      choice: { mode: 'kprobe', socketLookup: null, reason: 'test' },
      tcpSendpage: features.tcpSendpage,
      captureSize: 4096,
      selfPid: process.pid,
      wakeupBytes: 1 << 16,
      defaultVerdict: Verdict.Ignore,
      ringBufferSize: 1 << 20,
      drainIntervalMs: 20,
    });
    expect(capture).toBeInstanceOf(KernelCapture);
    const loaded = capture as KernelCapture;
    const failure = loaded.attach(() => {});
    expect(failure?.program).toMatch(/^sonde_k(r)?p_tcp_/);
    expect(failure?.error.message).toContain('attach');
    loaded.close();
  });

  it('`run --capture-mode kprobe` says why it cannot, and exits', async () => {
    const sonde = startSonde(['--capture-mode', 'kprobe']);
    expect(await sonde.wait()).toBe(4);
    expect(sonde.stderr.join('\n')).toContain('capture mode kprobe unavailable');
    expect(sonde.stderr.join('\n')).toContain('CONFIG_KPROBES');
  });
});
