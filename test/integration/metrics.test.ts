/**
 * Request metrics from real traffic: a real Prometheus server scrapes
 * Sonde's endpoint and PromQL over its API gives back the requests the
 * test made, by route and status; OTLP metrics (http/protobuf and gRPC,
 * explicit and exponential histograms) are decoded by receivers in the
 * test. Spans and metrics carry the same http.route.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGrpcClient, startGrpcServer } from '../helpers/grpc.js';
import { startGrpcMetricsReceiver, startHttpMetricsReceiver, type MetricsReceiver, type ReceivedPoint } from '../helpers/otlpMetricsReceiver.js';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startPrometheus, type PrometheusServer } from '../helpers/prometheus.js';
import { configFile, startSonde, type SondeProcess } from '../helpers/sonde.js';
import { waitFor, waitForAsync } from '../helpers/wait.js';

const execFileP = promisify(execFile);

/** What the tests send: path, and the route and status Sonde must report. */
function traffic(): Array<{ path: string; route: string; status: number }> {
  const out: Array<{ path: string; route: string; status: number }> = [];
  for (let i = 0; i < 6; i++) out.push({ path: `/users/${1000 + i * 37}`, route: '/users/{id}', status: 200 });
  for (let i = 0; i < 4; i++) out.push({ path: `/orders/${randomUUID()}`, route: '/orders/{orderId}', status: 200 });
  for (let i = 0; i < 3; i++) out.push({ path: '/status/404', route: '/status/{id}', status: 404 });
  for (let i = 0; i < 2; i++) out.push({ path: '/status/503', route: '/status/{id}', status: 503 });
  return out;
}

/** Expected counts, "route status" -> n. */
function countsOf(sent: ReadonlyArray<{ route: string; status: number }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of sent) out[`${s.route} ${s.status}`] = (out[`${s.route} ${s.status}`] ?? 0) + 1;
  return out;
}

const ROUTES_YAML = 'routes:\n  patterns: ["/orders/{orderId}"]\n';

describe('Prometheus scrapes Sonde', () => {
  let server: Peer;
  let sonde: SondeProcess;
  let prometheus: PrometheusServer;
  let metricsPort: number;

  beforeAll(async () => {
    server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'shop-api' });
    metricsPort = await freePort();
    sonde = startSonde(['--open-port', String(server.port), '--prometheus-port', String(metricsPort), '--config', configFile(ROUTES_YAML)]);
    await sonde.ready();
    prometheus = await startPrometheus([`127.0.0.1:${metricsPort}`]);
  });

  afterAll(async () => {
    await prometheus?.stop();
    await sonde?.stop();
    await server?.stop();
  });

  it('PromQL gives back the requests made, per route and status; spans carry the same routes', async () => {
    const sent = traffic();
    const results = await curl(sent.map((s) => `http://127.0.0.1:${server.port}${s.path}`));
    expect(results.map((r) => r.status)).toEqual(sent.map((s) => s.status));
    const expected = countsOf(sent);

    const query = 'sum by (http_route, http_response_status_code) (http_server_request_duration_seconds_count{service_name="shop-api"})';
    let got: Record<string, number> = {};
    await waitForAsync(
      async () => {
        got = Object.fromEntries((await prometheus.query(query)).map((s) => [`${s.metric.http_route} ${s.metric.http_response_status_code}`, s.value]));
        return JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(expected).sort());
      },
      `PromQL ${query} to return ${JSON.stringify(expected)}`,
      30_000,
      250,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; last answer ${JSON.stringify(got)}`);
    });

    process.stdout.write(`PromQL: ${query}\n  -> ${JSON.stringify(got)}\n`);
    // Errors and their share, as a RED dashboard asks.
    const errors = await prometheus.query('sum(http_server_request_duration_seconds_count{service_name="shop-api",error_type!=""})');
    expect(errors[0]?.value).toBe(2);
    const buckets = await prometheus.query('sum(http_server_request_duration_seconds_bucket{service_name="shop-api",le="+Inf"})');
    expect(buckets[0]?.value).toBe(sent.length);
    // Resource attributes are in target_info, joined by job and instance.
    const info = await prometheus.query('target_info{job="shop-api"}');
    expect(info).toHaveLength(1);
    expect(info[0]!.metric.process_pid).toBe(String(server.pid));
    const joined = await prometheus.query(
      'sum by (process_executable_name) (http_server_request_duration_seconds_count{service_name="shop-api"} * on (job, instance) group_left (process_executable_name) target_info)',
    );
    expect(joined.map((s) => [s.metric.process_executable_name, s.value])).toEqual([['node', sent.length]]);
    // Sonde's own health, on the same endpoint.
    const read = await prometheus.query('sonde_records_read_total{job="sonde"}');
    expect(read[0]?.value).toBeGreaterThan(0);
    const lost = await prometheus.query('sum(sonde_records_lost_total{job="sonde"})');
    expect(lost[0]?.value).toBe(0);

    const spans = await sonde.waitForSpans((s) => s.kind === 'SERVER' && s.resource['service.name'] === 'shop-api', sent.length);
    const spanRoutes = countsOf(spans.map((s) => ({ route: String(s.attributes['http.route']), status: Number(s.attributes['http.response.status_code']) })));
    expect(spanRoutes).toEqual(expected);
    // A configured pattern names the span; a heuristic route does not.
    expect(new Set(spans.map((s) => s.name))).toEqual(new Set(['GET', 'GET /orders/{orderId}']));
  });

  it('serves what promtool accepts', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0.0.4/);
    const text = await res.text();
    expect(text).toMatch(/^# TYPE http_server_request_duration_seconds histogram$/m);
    const child = execFileP('promtool', ['check', 'metrics']);
    child.child.stdin!.end(text);
    const { stdout, stderr } = await child.catch((e: { stdout: string; stderr: string }) => e);
    // promtool's lint findings, if any, are printed; a malformed exposition is an error.
    expect(`${stdout}${stderr}`).not.toMatch(/error while linting|text format parsing error/i);
    expect(`${stdout}${stderr}`.trim()).toBe('');
  });
});

/** The newest point of a metric that matches, across every export so far. */
function latest(receiver: MetricsReceiver, name: string, pred: (p: ReceivedPoint) => boolean = () => true): ReceivedPoint | undefined {
  for (let i = receiver.exports.length - 1; i >= 0; i--) {
    const p = receiver.exports[i]!.points.find((q) => q.name === name && pred(q));
    if (p) return p;
  }
  return undefined;
}

describe.each(['http/protobuf', 'grpc'] as const)('OTLP metrics over %s', (protocol) => {
  let server: Peer;
  let receiver: MetricsReceiver;

  beforeAll(async () => {
    server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'otlp-metrics' });
    const port = await freePort();
    receiver = protocol === 'grpc' ? await startGrpcMetricsReceiver(port) : await startHttpMetricsReceiver(port);
  });
  afterAll(async () => {
    await receiver?.close();
    await server?.stop();
  });

  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: protocol === 'grpc' ? `http://127.0.0.1:${receiver.port}` : `http://127.0.0.1:${receiver.port}/v1/metrics`,
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: protocol,
    OTEL_METRIC_EXPORT_INTERVAL: '300',
    ...extra,
  });

  it('exports request durations and body sizes, counting unsampled requests too, and Sonde health', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--print', 'disabled'], env());
    try {
      await sonde.ready();
      const base = `http://127.0.0.1:${server.port}`;
      await curl([`${base}/status/200`, `${base}/status/200`, `${base}/status/200`]);
      // Not sampled upstream: no span, but a request all the same.
      await curl([`${base}/status/201`], ['-H', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00']);
      const is = (status: number) => (p: ReceivedPoint) => p.attributes['http.response.status_code'] === status && p.resource['service.name'] === 'otlp-metrics';
      const ok = await waitFor(() => {
        const p = latest(receiver, 'http.server.request.duration', is(200));
        return p && p.value === 3 && latest(receiver, 'http.server.request.duration', is(201)) ? p : undefined;
      }, 'a duration histogram with 3 requests of status 200 and one of 201', 15_000);
      expect(ok.type).toBe('histogram');
      expect(ok.unit).toBe('s');
      expect(ok.temporality).toBe(2); // cumulative
      expect(ok.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/status/{id}', 'url.scheme': 'http', 'network.protocol.version': '1.1', 'server.port': server.port });
      expect(ok.explicitBounds).toEqual([0, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]);
      expect(ok.bucketCounts!.reduce((a, b) => a + b, 0)).toBe(3);
      expect(ok.sum).toBeGreaterThan(0);
      expect(ok.resource['process.pid']).toBe(server.pid);
      expect(latest(receiver, 'http.server.request.duration', is(201))!.value).toBe(1);
      const body = latest(receiver, 'http.server.response.body.size', is(200))!;
      expect(body.unit).toBe('By');
      expect(body.sum).toBe(3 * 'status 200\n'.length);

      const read = latest(receiver, 'sonde.records.read', (p) => p.resource['service.name'] === 'sonde')!;
      expect(read.type).toBe('sum');
      expect(read.value).toBeGreaterThan(0);
      expect(latest(receiver, 'sonde.probes.attached', (p) => p.attributes.kind === 'kernel')!.value).toBeGreaterThan(0);
    } finally {
      await sonde.stop();
    }
    expect(sonde.logs.find((l) => l.msg === 'sonde stopped')).toMatchObject({ unsampledSpans: 1 });
  });

  it('exports exponential histograms when OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION asks', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--print', 'disabled'], env({ OTEL_EXPORTER_OTLP_METRICS_DEFAULT_HISTOGRAM_AGGREGATION: 'base2_exponential_bucket_histogram' }));
    try {
      await sonde.ready();
      const since = receiver.exports.length;
      await curl([0, 1, 2, 3, 4].map((i) => `http://127.0.0.1:${server.port}/status/202?i=${i}`));
      const p = await waitFor(() => {
        for (const e of receiver.exports.slice(since)) {
          const q = e.points.find((x) => x.name === 'http.server.request.duration' && x.attributes['http.response.status_code'] === 202);
          if (q && q.value === 5) return q;
        }
        return undefined;
      }, 'an exponential histogram of 5 requests', 15_000);
      expect(p.type).toBe('exponential_histogram');
      expect(p.scale).toBeLessThanOrEqual(20);
      expect(p.positive!.bucketCounts.reduce((a, b) => a + b, 0) + p.zeroCount!).toBe(5);
      // Every duration lies in the bucket range the histogram says.
      const base = 2 ** (2 ** -p.scale!);
      expect(p.sum!).toBeGreaterThan(0);
      expect(p.sum! / 5).toBeLessThanOrEqual(base ** (p.positive!.offset + p.positive!.bucketCounts.length));
    } finally {
      await sonde.stop();
    }
  });

  it('exports gRPC call durations with rpc.* attributes', async () => {
    const grpc = await startGrpcServer('node', 0, { env: { OTEL_SERVICE_NAME: 'echo' } });
    const sonde = startSonde(['--open-port', String(grpc.port), '--print', 'disabled'], env());
    try {
      await sonde.ready();
      await runGrpcClient('node', `127.0.0.1:${grpc.port}`, ['unary:hello', 'unary:hello', 'unary:NOT_FOUND']);
      const of = (code: number) => (p: ReceivedPoint) => p.resource['service.name'] === 'echo' && p.attributes['rpc.grpc.status_code'] === code;
      const ok = await waitFor(() => {
        const p = latest(receiver, 'rpc.server.call.duration', of(0));
        return p?.value === 2 && latest(receiver, 'rpc.server.call.duration', of(5)) ? p : undefined;
      }, 'rpc.server.call.duration for 2 OK calls and 1 NOT_FOUND', 15_000);
      expect(ok.unit).toBe('s');
      expect(ok.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'grpc.examples.echo.Echo', 'rpc.method': 'UnaryEcho', 'network.protocol.version': '2' });
      expect(latest(receiver, 'rpc.server.call.duration', of(5))!.value).toBe(1);
    } finally {
      await sonde.stop();
      await grpc.stop();
    }
  });
});
