/**
 * Discovery and service identity with real processes: a cmd_args selector
 * and its overrides (service name and namespace, routes, sampler), a
 * process started after Sonde and one that exits, containers_only with a
 * process in a real Docker-named cgroup, and nginx's pre-forked workers
 * sharing one service name with an instance id each.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { containerCgroup } from '../helpers/cgroup.js';
import { curl, startNginx, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { configFile, startSonde } from '../helpers/sonde.js';
import { waitFor, waitForAsync } from '../helpers/wait.js';

describe('selectors and their overrides', () => {
  it('cmd_args picks a process started after Sonde within a second, names its service, brings its routes, and releases it when it exits', async () => {
    const other = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'not-me' });
    const config = configFile(
      [
        'discovery:',
        '  instrument:',
        '    - cmd_args: "*--role=checkout*"',
        '      name: checkout',
        '      namespace: shop',
        '      routes:',
        '        patterns: ["/status/{code}"]',
        '',
      ].join('\n'),
    );
    const sonde = startSonde(['--config', config]);
    let checkout: Peer | undefined;
    try {
      await sonde.ready();
      const started = Date.now();
      checkout = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'own-name' }, ['--role=checkout']);
      const pid = checkout.pid;
      await waitFor(() => sonde.logs.find((l) => l.msg === 'process selected' && l['pid'] === pid), 'Sonde to select the checkout server', 2000);
      expect(Date.now() - started).toBeLessThan(1000 + 1000 /* the server's own start */);
      const [r] = await curl([`http://127.0.0.1:${checkout.port}/status/201`]);
      await curl([`http://127.0.0.1:${other.port}/status/200`]);
      const [span] = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort, 1);
      expect(span!.resource).toMatchObject({ 'service.name': 'checkout', 'service.namespace': 'shop', 'process.pid': pid });
      expect(span!.name).toBe('GET /status/{code}');
      expect(span!.attributes['http.route']).toBe('/status/{code}');
      await checkout.stop();
      await waitFor(() => sonde.logs.find((l) => l.msg === 'process released' && l['pid'] === pid), 'Sonde to release the exited server', 5000);
    } finally {
      await sonde.stop();
      await checkout?.stop();
      await other.stop();
    }
    expect(sonde.spansWhere((s) => s.resource['service.name'] === 'not-me')).toEqual([]);
  });

  it('a selector\'s sampler (always_off) and OTEL_TRACES_SAMPLER=traceidratio keep that share of spans; metrics count every request', async () => {
    const quiet = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'quiet' });
    const half = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'half' });
    const metricsPort = await freePort();
    const config = configFile(
      [
        'discovery:',
        '  instrument:',
        `    - open_ports: "${quiet.port}"`,
        '      sampler: { name: always_off }',
        `    - open_ports: "${half.port}"`,
        '',
      ].join('\n'),
    );
    const sonde = startSonde(['--config', config, '--prometheus-port', String(metricsPort)], { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' });
    const count = async (service: string): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^http_server_request_duration_seconds_count\{(.*)\} (\d+)$/gm)) if (m[1]!.includes(`service_name="${service}"`)) n += Number(m[2]);
      return n;
    };
    try {
      await sonde.ready();
      await curl(Array.from({ length: 5 }, () => `http://127.0.0.1:${quiet.port}/status/200`));
      await curl(Array.from({ length: 200 }, (_, i) => `http://127.0.0.1:${half.port}/status/200?i=${i}`));
      let seen = '';
      await waitForAsync(async () => {
        seen = `quiet ${await count('quiet')}, half ${await count('half')}`;
        return seen === 'quiet 5, half 200';
      }, 'metrics to count 5 and 200 requests', 15_000).catch((e: Error) => {
        throw new Error(`${e.message}: ${seen}`);
      });
    } finally {
      await sonde.stop();
      await quiet.stop();
      await half.stop();
    }
    expect(sonde.spansWhere((s) => s.resource['service.name'] === 'quiet')).toEqual([]);
    const kept = sonde.spansWhere((s) => s.resource['service.name'] === 'half').length;
    // Binomial(200, 0.5): outside 60..140 once in about 10^8 runs.
    expect(kept).toBeGreaterThan(60);
    expect(kept).toBeLessThan(140);
    expect(sonde.logs.find((l) => l.msg === 'sonde stopped')!['unsampledSpans']).toBe(5 + 200 - kept);
  });
});

describe('excludes', () => {
  it('an exclude_instrument selector wins over the instrument selector that picked the process', async () => {
    const kept = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'kept' });
    const excluded = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'excluded' }, ['--role=excluded']);
    const config = configFile(`discovery:\n  instrument:\n    - open_ports: "${kept.port},${excluded.port}"\n  exclude_instrument:\n    - cmd_args: "*--role=excluded*"\n`);
    const sonde = startSonde(['--config', config]);
    try {
      await sonde.ready();
      await curl([`http://127.0.0.1:${excluded.port}/status/200`]);
      const [r] = await curl([`http://127.0.0.1:${kept.port}/status/200`]);
      await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort, 1);
    } finally {
      await sonde.stop();
      await kept.stop();
      await excluded.stop();
    }
    expect(sonde.spansWhere((s) => s.resource['service.name'] === 'excluded')).toEqual([]);
  });
});

describe('minimum process age', () => {
  it('a process younger than discovery.min_process_age is traced only once it is that old', async () => {
    const sonde = startSonde(['--config', configFile('discovery:\n  min_process_age: 1500\n  instrument:\n    - cmd_args: "*--role=young*"\n')]);
    let young: Peer | undefined;
    try {
      await sonde.ready();
      const started = Date.now();
      young = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'young' }, ['--role=young']);
      const pid = young.pid;
      const [early] = await curl([`http://127.0.0.1:${young.port}/status/200`]);
      expect(Date.now() - started).toBeLessThan(1500);
      await waitFor(() => sonde.logs.find((l) => l.msg === 'process selected' && l['pid'] === pid), 'the server to come of age', 5000);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      const [late] = await curl([`http://127.0.0.1:${young.port}/status/201`]);
      await sonde.waitForSpans((s) => s.attributes['client.port'] === late!.localPort, 1);
      expect(sonde.spansWhere((s) => s.attributes['client.port'] === early!.localPort)).toEqual([]);
    } finally {
      await sonde.stop();
      await young?.stop();
    }
  });
});

describe('containers', () => {
  it('containers_only traces a process in a container\'s cgroup, named by its container', async () => {
    const cg = containerCgroup();
    const inside = await startNodeServer(await freePort(), '127.0.0.1', { HOSTNAME: 'web-1', OTEL_SERVICE_NAME: '' });
    const outside = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'on-the-host' });
    cg.add(inside.pid);
    const sonde = startSonde(['--config', configFile('discovery:\n  instrument:\n    - containers_only: true\n      exe_path: "*/node"\n')]);
    try {
      await sonde.ready();
      const [r] = await curl([`http://127.0.0.1:${inside.port}/status/200`]);
      await curl([`http://127.0.0.1:${outside.port}/status/200`]);
      const [span] = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.attributes['client.port'] === r!.localPort, 1);
      expect(span!.resource).toMatchObject({ 'service.name': 'web-1', 'container.id': cg.id, 'container.name': 'web-1' });
    } finally {
      await sonde.stop();
      await inside.stop();
      await outside.stop();
      cg.remove();
    }
    expect(sonde.spansWhere((s) => s.resource['service.name'] === 'on-the-host')).toEqual([]);
  });
});

describe('pre-fork servers', () => {
  it('nginx workers share the service name, each with its own service.instance.id', async () => {
    const nginx = await startNginx(await freePort(), undefined, 2);
    const sonde = startSonde(['--exe', '*/nginx']);
    try {
      await sonde.ready();
      // Separate connections (a curl each): reuseport spreads them over both workers.
      for (let i = 0; i < 40; i++) await curl([`http://127.0.0.1:${nginx.port}/`]);
      const spans = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.resource['process.executable.name'] === 'nginx', 40);
      expect(new Set(spans.map((s) => s.resource['service.name']))).toEqual(new Set(['nginx']));
      const workers = new Set(spans.map((s) => s.resource['process.pid']));
      const instances = new Set(spans.map((s) => s.resource['service.instance.id']));
      expect(workers.size).toBe(2);
      expect(instances.size).toBe(2);
      // Both are the master's children: the workers, not the master.
      for (const pid of workers) expect(readFileSync(`/proc/${String(pid)}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]).toBe(String(nginx.pid));
    } finally {
      await sonde.stop();
      await nginx.stop();
    }
  });
});
