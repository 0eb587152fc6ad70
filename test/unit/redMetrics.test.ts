/** Request metrics read off the spans built for each transaction: series per attribute set, bounded. */
import { resourceFromAttributes } from '@opentelemetry/resources';
import { DataPointType, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { ObservedTransaction } from '../../collector/conn/ConnectionTracker.js';
import { DURATION_BUCKETS, SIZE_BUCKETS } from '../../collector/metrics/histograms.js';
import { ATTR_OTEL_METRIC_OVERFLOW, RedMetrics } from '../../collector/metrics/RedMetrics.js';
import { RouteResolver } from '../../collector/routes/RouteResolver.js';
import { buildHttpSpan } from '../../collector/spans/httpSpan.js';
import type { HttpTransaction } from '../../protocols/types.js';

const resource = resourceFromAttributes({ 'service.name': 'shop' });
const toHrTime = (ns: number): [number, number] => [1_700_000_000 + Math.floor(ns / 1e9), ns % 1e9];
const routes = new RouteResolver({ patterns: [], unmatched: 'path', maxRoutes: 1_000_000 });

function observed(role: 'client' | 'server', target: string, status: number, durationNs: number, tls = false): ObservedTransaction {
  const tx: HttpTransaction = {
    protocol: 'HTTP/1.1',
    method: 'GET',
    target,
    requestHeaders: [['host', 'shop.local:8080']],
    requestBodySize: 0,
    requestStart: 1000,
    requestEnd: 2000,
    status,
    responseHeaders: [],
    responseBodySize: 10,
    responseStart: 3000,
    responseEnd: 1000 + durationNs,
    truncated: false,
  };
  const endpoints = { networkType: 'ipv4' as const, local: { address: '10.0.0.1', port: 8080 }, remote: { address: '10.0.0.2', port: 50000 } };
  return { tx, sock: 1n, pid: 42, role, endpoints, tls, exchange: undefined, mirrored: false };
}

function metrics(maxSeries = 100): RedMetrics {
  return new RedMetrics({ durationBuckets: DURATION_BUCKETS, sizeBuckets: SIZE_BUCKETS, kinds: new Set(['explicit']), maxSeries, idleMs: 60_000 });
}

function record(m: RedMetrics, obs: ObservedTransaction): void {
  m.record(buildHttpSpan(obs, resource, { urlQuery: false, toHrTime, routes: () => routes }), obs.tls);
}

describe('RedMetrics', () => {
  it('one series per attribute set, with the semantic conventions names and units', () => {
    const m = metrics();
    record(m, observed('server', '/a', 200, 3_000_000));
    record(m, observed('server', '/a', 200, 30_000_000));
    record(m, observed('server', '/a', 500, 1_000_000));
    record(m, observed('client', '/b', 200, 2_000_000, true));
    const [rm] = m.collect('explicit');
    const byName = new Map(rm!.scopeMetrics[0]!.metrics.map((x) => [x.descriptor.name, x as HistogramMetricData]));
    expect([...byName.keys()].sort()).toEqual([
      'http.client.request.body.size',
      'http.client.request.duration',
      'http.client.response.body.size',
      'http.server.request.body.size',
      'http.server.request.duration',
      'http.server.response.body.size',
    ]);
    const server = byName.get('http.server.request.duration')!;
    expect(server.dataPointType).toBe(DataPointType.HISTOGRAM);
    expect(server.descriptor.unit).toBe('s');
    const ok = server.dataPoints.find((p) => p.attributes['http.response.status_code'] === 200)!;
    expect(ok.attributes).toEqual({
      'http.request.method': 'GET',
      'http.route': '/a',
      'http.response.status_code': 200,
      'url.scheme': 'http',
      'network.protocol.version': '1.1',
      'server.address': 'shop.local',
      'server.port': 8080,
    });
    expect(ok.value.count).toBe(2);
    expect(ok.value.sum).toBeCloseTo(0.033);
    expect(server.dataPoints.find((p) => p.attributes['http.response.status_code'] === 500)!.attributes['error.type']).toBe('500');
    const client = byName.get('http.client.request.duration')!;
    expect(client.dataPoints[0]!.attributes).toMatchObject({ 'url.scheme': 'https', 'server.address': 'shop.local' });
    expect(client.dataPoints[0]!.attributes['http.route']).toBeUndefined();
    expect(byName.get('http.server.response.body.size')!.dataPoints.reduce((n, p) => n + (p.value.sum ?? 0), 0)).toBe(30);
  });

  it('past the series limit, one overflow series counts the rest', () => {
    const m = metrics(10);
    for (let i = 0; i < 1000; i++) record(m, observed('server', `/p${i}`, 200, 1_000_000));
    const [rm] = m.collect('explicit');
    const d = rm!.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'http.server.request.duration') as HistogramMetricData;
    expect(d.dataPoints).toHaveLength(11);
    const overflow = d.dataPoints.find((p) => p.attributes[ATTR_OTEL_METRIC_OVERFLOW] === true)!;
    expect(overflow.value.count).toBe(990);
    expect(d.dataPoints.reduce((n, p) => n + p.value.count, 0)).toBe(1000);
    expect(m.overflowed).toBe(990);
  });

  it('requests in a row with the same attributes count in their series, overflow included, and a dropped process starts again', () => {
    const m = new RedMetrics({ durationBuckets: DURATION_BUCKETS, sizeBuckets: SIZE_BUCKETS, kinds: new Set(['explicit']), maxSeries: 2, idleMs: -1 });
    const order: Array<[string, number, boolean]> = [
      ['/a', 200, false], ['/a', 200, false], ['/a', 500, false], ['/a', 200, false],
      ['/b', 200, false], ['/b', 200, false], ['/a', 200, false], ['/b', 200, false], ['/c', 200, false],
    ];
    for (const [target, status, tls] of order) record(m, observed('server', target, status, 1_000_000, tls));
    record(m, observed('client', '/a', 200, 1_000_000, false));
    record(m, observed('client', '/a', 200, 1_000_000, true));
    record(m, observed('client', '/a', 200, 1_000_000, true));
    const duration = (rm: ReturnType<RedMetrics['collect']>, name: string) =>
      rm[0]!.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === name) as HistogramMetricData;
    const first = m.collect('explicit');
    const counts = duration(first, 'http.server.request.duration').dataPoints.map((p) => [p.attributes['http.route'] ?? 'overflow', p.attributes['http.response.status_code'] ?? 0, p.value.count]);
    expect(counts).toEqual([['/a', 200, 4], ['/a', 500, 1], ['overflow', 0, 4]]);
    expect(m.overflowed).toBe(4);
    expect(duration(first, 'http.client.request.duration').dataPoints.map((p) => [p.attributes['url.scheme'], p.value.count])).toEqual([['http', 1], ['https', 2]]);
    // idleMs -1: the process was dropped by collect; its next request makes a new series, not the old one.
    record(m, observed('server', '/a', 200, 1_000_000));
    const again = duration(m.collect('explicit'), 'http.server.request.duration').dataPoints;
    expect(again.map((p) => [p.attributes['http.route'], p.value.count])).toEqual([['/a', 1]]);
  });
});
