/** One configuration from defaults, a YAML file, the environment and flags, in that order. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatIssues, loadConfig, type ConfigIssue, type LoadedConfig } from '../../config/load.js';

function yaml(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'sonde-cfg-')), 'c.yaml');
  writeFileSync(p, text);
  return p;
}

function ok(r: LoadedConfig | ConfigIssue[]): LoadedConfig {
  if (Array.isArray(r)) throw new Error(formatIssues(r));
  return r;
}

describe('configuration', () => {
  it('defaults', () => {
    const { config } = ok(loadConfig({}, {}));
    expect(config.trace_printer).toBe('auto');
    expect(config.discovery.instrument).toEqual([]);
    expect(config.discovery.default_exclude_instrument.map((s) => s.exe_path)).toContain('*/jaeger');
    expect(config.ebpf).toMatchObject({ capture_mode: 'auto', capture_size: 4096, ring_buffer_size: 8 << 20 });
    expect(config.otel_traces_export).toMatchObject({ schedule_delay: 5000, max_queue_size: 2048, headers: {} });
    expect(config.attributes.url_query).toBe(false);
  });

  it('file < environment < flags, and each value knows its source', () => {
    const file = yaml('log_level: warn\nebpf:\n  capture_size: 1000\n  capture_mode: tracepoint\notel_traces_export:\n  endpoint: http://file:4318\n');
    const { config, sources } = ok(
      loadConfig({ OTEL_EBPF_CONFIG_PATH: file, SONDE_CAPTURE_SIZE: '2000', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' }, { 'capture-size': '3000' }),
    );
    expect(config.log_level).toBe('warn');
    expect(config.ebpf.capture_mode).toBe('tracepoint');
    expect(config.ebpf.capture_size).toBe(3000);
    expect(config.otel_traces_export.endpoint).toBe('http://env:4318');
    expect(sources.get('log_level')).toBe(`file ${file}`);
    expect(sources.get('ebpf.capture_size')).toBe('flag --capture-size');
    expect(sources.get('otel_traces_export.endpoint')).toBe('env OTEL_EXPORTER_OTLP_ENDPOINT');
  });

  it('the selector shortcuts form one selector, flags over environment', () => {
    const { config } = ok(loadConfig({ OTEL_EBPF_OPEN_PORT: '80', OTEL_EBPF_AUTO_TARGET_EXE: '*/nginx' }, { 'open-port': '8080-8090' }));
    expect(config.discovery.instrument).toEqual([{ open_ports: '8080-8090', exe_path: '*/nginx' }]);
    expect(ok(loadConfig({ OTEL_EBPF_TARGET_PID: '12,13' }, {})).config.discovery.instrument).toEqual([{ target_pids: [12, 13] }]);
  });

  it('OTLP headers and durations in the forms the OpenTelemetry variables use', () => {
    const { config } = ok(loadConfig({ OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%3Db, x-team = blue', OTEL_BSP_SCHEDULE_DELAY: '2s' }, {}));
    expect(config.otel_traces_export.headers).toEqual({ 'api-key': 'a=b', 'x-team': 'blue' });
    expect(config.otel_traces_export.schedule_delay).toBe(2000);
  });

  it('every mistake is reported with key, value, expectation and source', () => {
    const r = loadConfig({ SONDE_CAPTURE_SIZE: 'lots', OTEL_EBPF_TRACE_PRINTER: 'yaml' }, {});
    expect(Array.isArray(r)).toBe(true);
    const issues = r as ConfigIssue[];
    expect(issues.find((i) => i.key === 'ebpf.capture_size')).toMatchObject({ source: 'env SONDE_CAPTURE_SIZE' });
    expect(issues.find((i) => i.key === 'trace_printer')).toMatchObject({ value: 'yaml', source: 'env OTEL_EBPF_TRACE_PRINTER' });
    expect(formatIssues(issues)).toContain('config error: trace_printer:');
  });

  it('metrics: the generic OTLP variables set traces and metrics; the metrics ones only metrics', () => {
    const { config, sources } = ok(
      loadConfig(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
          OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
          OTEL_METRIC_EXPORT_INTERVAL: '15000',
          OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'BASE2_EXPONENTIAL_BUCKET_HISTOGRAM',
          OTEL_EBPF_PROMETHEUS_PORT: '9400',
        },
        { 'prometheus-port': '9401' },
      ),
    );
    expect(config.otel_traces_export).toMatchObject({ endpoint: 'http://collector:4318' });
    expect(config.otel_traces_export.protocol).toBeUndefined();
    expect(config.otel_metrics_export).toMatchObject({ endpoint: 'http://collector:4318', protocol: 'grpc', interval: 15000, histogram_aggregation: 'base2_exponential_bucket_histogram' });
    expect(config.otel_metrics_export.buckets.duration_histogram).toEqual([0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
    expect(config.prometheus_export).toEqual({ port: 9401, path: '/metrics' });
    expect(sources.get('prometheus_export.port')).toBe('flag --prometheus-port');
    expect(sources.get('otel_metrics_export.endpoint')).toBe('env OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(config.routes).toEqual({ patterns: [], unmatched: 'heuristic', max_routes: 100 });
  });

  it.each([
    ['routes:\n  patterns: ["users/{id}"]\n', 'routes.patterns.0', 'must start with "/"'],
    ['routes:\n  patterns: ["/a/**/b"]\n', 'routes.patterns.0', 'may only be the last segment'],
    ['routes:\n  unmatched: guess\n', 'routes.unmatched', 'expected one of "heuristic"|"path"|"wildcard"|"unset"'],
    ['otel_metrics_export:\n  buckets:\n    duration_histogram: [0.1, 0.05]\n', 'otel_metrics_export.buckets.duration_histogram', 'must be in increasing order'],
    ['prometheus_export:\n  port: 70000\n', 'prometheus_export.port', 'Too big'],
    ['prometheus_export:\n  path: metrics\n', 'prometheus_export.path', 'Invalid string: must start with "/"'],
  ])('a bad metrics or routes setting names its key: %j', (text, key, message) => {
    const file = yaml(text);
    const issues = loadConfig({}, { config: file }) as ConfigIssue[];
    expect(Array.isArray(issues)).toBe(true);
    expect(issues[0]).toMatchObject({ key, source: `file ${file}` });
    expect(issues[0]!.message).toContain(message);
  });

  /** Each bad configuration, and exactly what Sonde says of it ("FILE": the file's path). */
  const SELECTOR_NEEDS = 'a selector needs at least one of open_ports, exe_path, cmd_args, target_pids, containers_only';
  const SAMPLERS = '"always_on"|"always_off"|"traceidratio"|"parentbased_always_on"|"parentbased_always_off"|"parentbased_traceidratio"';
  it.each<[string, string, Record<string, string>, string]>([
    ['a misspelt selector key', 'discovery:\n  instrument:\n    - open_port: 80\n', {}, `config error: discovery.instrument.0.open_port: Unrecognized key: "open_port"; did you mean "open_ports"? (got 80, from file FILE)\nconfig error: discovery.instrument.0: ${SELECTOR_NEEDS} (got {"open_port":80}, from file FILE)`],
    ['a misspelt section', 'otel_trace_export:\n  schedule_delay: 100\n', {}, 'config error: otel_trace_export: Unrecognized key: "otel_trace_export"; did you mean "otel_traces_export"? (got {"schedule_delay":100}, from file FILE)'],
    ['a key like none', 'ebpf:\n  turbo: true\n', {}, 'config error: ebpf.turbo: Unrecognized key: "turbo" (got true, from file FILE)'],
    ['a port range high to low', 'discovery:\n  instrument:\n    - open_ports: "80-70"\n', {}, 'config error: discovery.instrument.0.open_ports: "80-70" is not within 1-65535, low to high (got "80-70", from file FILE)'],
    ['a selector that selects nothing', 'discovery:\n  instrument:\n    - name: shop\n', {}, `config error: discovery.instrument.0: ${SELECTOR_NEEDS} (got {"name":"shop"}, from file FILE)`],
    ['an unknown sampler on a selector', 'discovery:\n  instrument:\n    - exe_path: "*/node"\n      sampler:\n        name: sometimes\n', {}, `config error: discovery.instrument.0.sampler.name: Invalid option: expected one of ${SAMPLERS} (got "sometimes", from file FILE)`],
    ['a ratio over 1', 'otel_traces_export:\n  sampler:\n    name: traceidratio\n    arg: 2\n', {}, 'config error: otel_traces_export.sampler.arg: Too big: expected number to be <=1 (got 2, from file FILE)'],
    ['a credential header to record', 'attributes:\n  http_headers:\n    request: [Authorization]\n', {}, 'config error: attributes.http_headers.request.0: carries credentials: it is never recorded (got "Authorization", from file FILE)'],
    ['a header name with a space', 'attributes:\n  http_headers:\n    request: ["x request"]\n', {}, 'config error: attributes.http_headers.request.0: not an HTTP header name (got "x request", from file FILE)'],
    ['a tail in the middle of a route', 'routes:\n  patterns: ["/a/**/b"]\n', {}, 'config error: routes.patterns.0: "**" (or "{*name}") may only be the last segment (got "/a/**/b", from file FILE)'],
    ['buckets out of order', 'otel_metrics_export:\n  buckets:\n    duration_histogram: [0.1, 0.05]\n', {}, 'config error: otel_metrics_export.buckets.duration_histogram: must be in increasing order (got [0.1,0.05], from file FILE)'],
    ['a capture size too large', 'ebpf:\n  capture_size: 100000\n', {}, 'config error: ebpf.capture_size: Too big: expected number to be <=16384 (got 100000, from file FILE)'],
    ['an unknown OTEL_TRACES_SAMPLER', '', { OTEL_TRACES_SAMPLER: 'sometimes' }, `config error: otel_traces_export.sampler.name: Invalid option: expected one of ${SAMPLERS} (got "sometimes", from env OTEL_TRACES_SAMPLER)`],
    ['a sampler argument that is not a number', '', { OTEL_TRACES_SAMPLER_ARG: 'half' }, 'config error: otel_traces_export.sampler.arg: Invalid input: expected number, received string (got "half", from env OTEL_TRACES_SAMPLER_ARG)'],
    ['a metric interval too short', '', { OTEL_METRIC_EXPORT_INTERVAL: '10' }, 'config error: otel_metrics_export.interval: Too small: expected number to be >=100 (got 10, from env OTEL_METRIC_EXPORT_INTERVAL)'],
    ['a Prometheus port that is not a number', '', { OTEL_EBPF_PROMETHEUS_PORT: 'ninety' }, 'config error: prometheus_export.port: Invalid input: expected number, received string (got "ninety", from env OTEL_EBPF_PROMETHEUS_PORT)'],
  ])('%s: the exact message', (_what, text, env, message) => {
    const file = yaml(text);
    const issues = loadConfig(env, text ? { config: file } : {});
    expect(Array.isArray(issues)).toBe(true);
    expect(formatIssues(issues as ConfigIssue[]).replaceAll(file, 'FILE')).toBe(message);
  });
});
