/**
 * The `sonde` command as users meet it: doctor on this kernel, run
 * without the privileges it needs, configuration mistakes, and signals.
 */
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { configFile, ROOT, startSonde } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

const exec = promisify(execFile);
const SONDE = join(ROOT, 'sonde');

async function sondeCmd(args: string[], env: NodeJS.ProcessEnv = {}, wrap: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const [cmd, ...rest] = wrap.length ? [...wrap, SONDE, ...args] : [SONDE, ...args];
  try {
    const { stdout, stderr } = await exec(cmd!, rest, { env: { ...process.env, ...env }, cwd: ROOT });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** Run under capsh with these capabilities dropped from the bounding and effective sets. */
const withoutCaps = (caps: string): string[] => ['capsh', `--drop=${caps}`, '--'];

describe('sonde doctor', () => {
  it('reports this kernel: tracepoints yes, kprobes and fentry no, and the mode run would use', async () => {
    const text = await sondeCmd(['doctor']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/BTF\s+yes/);
    expect(text.stdout).toMatch(/kprobes\s+no .*CONFIG_KPROBES/);
    expect(text.stdout).toMatch(/fentry\s+no .*load refused/);
    expect(text.stdout).toMatch(/Capture mode: tracepoint .*no syscall tracepoints/);
    // This machine mounts cgroup v2 at /sys/fs/cgroup/unified (hybrid) and runs the tests as root.
    expect(text.stdout).toMatch(/context propagation\s+yes\s+cgroup v2 at \/sys\/fs\/cgroup/);
    expect(text.stdout).toMatch(/Node\.js async context\s+yes/);
    // The launcher's runtime settings (README, Performance), and the user's in their place.
    expect(text.stdout).toMatch(/^Runtime: Node\.js v\d+\.\d+\.\d+, V8 flags: --single-threaded-gc --max-semi-space-size=8, malloc mmap threshold: 131072$/m);
    const replaced = await sondeCmd(['doctor'], { SONDE_NODE_FLAGS: '--max-semi-space-size=4', MALLOC_MMAP_THRESHOLD_: '65536' });
    expect(replaced.stdout).toMatch(/^Runtime: .*V8 flags: --max-semi-space-size=4, malloc mmap threshold: 65536$/m);
    const none = await sondeCmd(['doctor'], { SONDE_NODE_FLAGS: '' });
    expect(none.stdout).toMatch(/^Runtime: .*V8 flags: none,/m);

    const json = await sondeCmd(['doctor', '--json']);
    const report = JSON.parse(json.stdout) as {
      ready: boolean;
      features: Record<string, { ok: boolean; detail: string }>;
      captureMode: { mode: string; socketLookup: string };
      capabilities: { missing: string[] };
    };
    expect(report.ready).toBe(true);
    expect(report.features['tracepoints']!.ok).toBe(true);
    expect(report.features['ring buffer']!.ok).toBe(true);
    expect(report.features['uprobes']!.ok).toBe(true);
    expect(report.features['kprobes']!.ok).toBe(false);
    expect(report.features['fentry']!.ok).toBe(false);
    expect(report.captureMode).toMatchObject({ mode: 'tracepoint', socketLookup: 'sock-length-tracepoints' });
    expect(report.capabilities.missing).toEqual([]);
  });

  it('without privileges says what is missing and is not ready', async () => {
    const r = await sondeCmd(['doctor', '--json'], {}, withoutCaps('cap_bpf,cap_perfmon,cap_sys_admin,cap_net_admin'));
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as {
      ready: boolean;
      capabilities: { missing: string[] };
      features: Record<string, { ok: boolean }>;
      optional: Record<string, { ok: boolean; detail: string }>;
    };
    expect(report.ready).toBe(false);
    // Optional, so not in `missing`, but doctor says why it would not work.
    expect(report.optional['context propagation']).toEqual({ ok: false, detail: 'CAP_NET_ADMIN missing' });
    expect(report.capabilities.missing).toEqual(['CAP_BPF', 'CAP_PERFMON']);
    expect(report.features['tracepoints']!.ok).toBe(false);
  });
});

describe('sonde run without privileges', () => {
  it('exits non-zero naming the missing capabilities', async () => {
    const r = await sondeCmd(['run'], {}, withoutCaps('cap_bpf,cap_perfmon,cap_sys_admin,cap_sys_ptrace'));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('missing capabilities: CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE');
  });
});

describe('configuration mistakes', () => {
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['a bad port range in the environment', [], { OTEL_EBPF_OPEN_PORT: '80-' }, /discovery\.instrument\.0\.open_ports: "80-" is not a port or a range.*from env OTEL_EBPF_OPEN_PORT/],
    ['a capture size too large on the command line', ['--capture-size', '100000'], {}, /ebpf\.capture_size: .*<=16384.*got 100000, from flag --capture-size/],
    ['an unknown protocol', [], { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, /otel_traces_export\.protocol: .*got "http\/json", from env OTEL_EXPORTER_OTLP_PROTOCOL/],
    ['a malformed endpoint', [], { OTEL_EXPORTER_OTLP_ENDPOINT: 'localhost 4317' }, /otel_traces_export\.endpoint: .*from env OTEL_EXPORTER_OTLP_ENDPOINT/],
    ['an unknown key in the file', ['--config', configFile('ebpf:\n  capture_sise: 10\n')], {}, /ebpf\.capture_sise: Unrecognized key.*from file/],
    ['a ring buffer that is not a power of two', ['--config', configFile('ebpf:\n  ring_buffer_size: 100000\n')], {}, /ebpf\.ring_buffer_size: must be a power of two \(got 100000, from file/],
    ['a file that is not YAML', ['--config', configFile('ebpf: [\n')], {}, /\(file\): not valid YAML/],
    ['a route pattern without its leading slash', ['--config', configFile('routes:\n  patterns: ["users/{id}"]\n')], {}, /routes\.patterns\.0: must start with "\/" \(got "users\/\{id\}", from file/],
    ['a Prometheus port out of range', ['--prometheus-port', '99999'], {}, /prometheus_export\.port: Too big.*from flag --prometheus-port/],
  ];
  it.each(cases)('%s: exit code 2 and a message naming the key', async (_what, args, env, message) => {
    const r = await sondeCmd(['run', ...args], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });
});

describe('sonde config', () => {
  it('prints every key with the source of its value: default < file < environment < flag', async () => {
    const file = configFile('ebpf:\n  capture_size: 1024\n  drain_interval: 50\nroutes:\n  patterns: ["/users/{id}"]\n');
    const r = await sondeCmd(['config', '--config', file, '--capture-size', '2048'], { SONDE_DRAIN_INTERVAL: '30ms', OTEL_EBPF_PROMETHEUS_PORT: '9400' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}capture_size: 2048 # flag --capture-size$/m);
    expect(r.stdout).toMatch(/^ {2}drain_interval: 30 # env SONDE_DRAIN_INTERVAL$/m);
    expect(r.stdout).toMatch(/^ {2}ring_buffer_size: 8388608 # default$/m);
    expect(r.stdout).toMatch(/^ {2}port: 9400 # env OTEL_EBPF_PROMETHEUS_PORT$/m);
    expect(r.stdout).toContain(`  patterns: [ "/users/{id}" ] # file ${file}`);
  });

  it('--json gives the configuration and the sources as data', async () => {
    const r = await sondeCmd(['config', '--json', '--open-port', '8080'], { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { config: { discovery: { instrument: unknown[] }; otel_metrics_export: { endpoint: string } }; sources: Record<string, string> };
    expect(out.config.discovery.instrument).toEqual([{ open_ports: '8080' }]);
    expect(out.config.otel_metrics_export.endpoint).toBe('http://collector:4318');
    expect(out.sources['discovery.instrument.0.open_ports']).toBe('flag --open-port');
    expect(out.sources['otel_traces_export.endpoint']).toBe('env OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('a bad value: exit code 2 and the same message run gives', async () => {
    const r = await sondeCmd(['config', '--capture-size', 'lots']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('config error: ebpf.capture_size: Invalid input: expected number, received string (got "lots", from flag --capture-size)');
  });
});

describe('metric outputs', () => {
  it('a Prometheus port already taken: exit code 2 naming the key and the port, before any probe is attached', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = await sondeCmd(['run', '--prometheus-port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`prometheus_export.port ${port}: cannot listen: listen EADDRINUSE`);
      expect(r.stderr).not.toContain('sonde capturing');
    } finally {
      taken.close();
    }
  });
});

describe('signals', () => {
  it('a second signal exits at once', async () => {
    const sonde = startSonde([]);
    await sonde.ready();
    sonde.child.kill('SIGINT');
    await waitFor(() => sonde.logs.find((l) => l.msg.startsWith('SIGINT')), 'the first signal to be taken').catch((e: Error) => {
      throw new Error(`${e.message}; exit code ${String(sonde.exitCode)}; stderr:\n${sonde.stderr.slice(-8).join('\n')}`);
    });
    sonde.child.kill('SIGINT');
    expect(await sonde.wait()).toBe(130);
    expect(sonde.logs.find((l) => l.msg === 'SIGINT again: exiting now')).toBeDefined();
  });
});
