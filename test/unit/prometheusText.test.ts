import { ValueType } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import { prometheusName, prometheusText } from '../../collector/export/prometheusText.js';

const T: [number, number] = [1_700_000_000, 0];

function histogram(name: string, unit: string, attributes: Record<string, string | number>, counts: number[]): MetricData {
  return {
    descriptor: { name, unit, description: 'a "quoted"\nhelp', valueType: ValueType.DOUBLE },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ attributes, startTime: T, endTime: T, value: { buckets: { boundaries: [0.1, 1], counts }, sum: 1.5, count: counts.reduce((a, b) => a + b, 0) } }],
  };
}

function resource(name: string, pid: number, extra: Record<string, string> = {}): ResourceMetrics['resource'] {
  return resourceFromAttributes({ 'service.name': name, 'service.instance.id': `host:${pid}`, 'process.pid': pid, ...extra });
}

describe('Prometheus text', () => {
  it('names metrics by the OpenTelemetry compatibility rules', () => {
    const sum = (name: string, unit: string, isMonotonic: boolean): MetricData => ({
      descriptor: { name, unit, description: '', valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic,
      dataPoints: [],
    });
    expect(prometheusName(histogram('http.server.request.duration', 's', {}, []))).toBe('http_server_request_duration_seconds');
    expect(prometheusName(histogram('http.server.request.body.size', 'By', {}, []))).toBe('http_server_request_body_size_bytes');
    expect(prometheusName(sum('sonde.records.read', '{record}', true))).toBe('sonde_records_read_total');
    expect(prometheusName(sum('sonde.captured', 'By', true))).toBe('sonde_captured_bytes_total');
    expect(prometheusName(sum('queue.items', '{item}', false))).toBe('queue_items');
    expect(prometheusName({ ...sum('export.queue.fill', '1', false), dataPointType: DataPointType.GAUGE } as MetricData)).toBe('export_queue_fill_ratio');
  });

  it('merges every service into one family, with job, instance and target_info, escaping label values', () => {
    const text = prometheusText([
      { resource: resource('shop', 1, { 'service.namespace': 'prod' }), scopeMetrics: [{ scope: { name: 'sonde' }, metrics: [histogram('http.server.request.duration', 's', { 'http.route': '/a"b\\c\nd' }, [1, 2, 0])] }] },
      { resource: resource('cart', 2), scopeMetrics: [{ scope: { name: 'sonde' }, metrics: [histogram('http.server.request.duration', 's', { 'http.route': '/x' }, [0, 0, 4])] }] },
    ]);
    expect(text.match(/^# TYPE http_server_request_duration_seconds histogram$/gm)).toHaveLength(1);
    expect(text).toContain('# HELP http_server_request_duration_seconds a "quoted"\\nhelp\n');
    expect(text).toContain('http_server_request_duration_seconds_bucket{job="prod/shop",instance="host:1",service_name="shop",http_route="/a\\"b\\\\c\\nd",le="0.1"} 1\n');
    expect(text).toContain('http_server_request_duration_seconds_bucket{job="prod/shop",instance="host:1",service_name="shop",http_route="/a\\"b\\\\c\\nd",le="1"} 3\n');
    expect(text).toContain('http_server_request_duration_seconds_bucket{job="cart",instance="host:2",service_name="cart",http_route="/x",le="+Inf"} 4\n');
    expect(text).toContain('http_server_request_duration_seconds_count{job="cart",instance="host:2",service_name="cart",http_route="/x"} 4\n');
    expect(text).toContain('target_info{job="prod/shop",instance="host:1",process_pid="1"} 1\n');
    expect(text).toContain('target_info{job="cart",instance="host:2",process_pid="2"} 1\n');
  });

  it('writes a series once when two resources would repeat it (a pid re-used by the same program)', () => {
    const m = histogram('http.server.request.duration', 's', { 'http.route': '/x' }, [1, 0, 0]);
    const text = prometheusText([
      { resource: resource('shop', 1), scopeMetrics: [{ scope: { name: 'sonde' }, metrics: [m] }] },
      { resource: resource('shop', 1), scopeMetrics: [{ scope: { name: 'sonde' }, metrics: [m] }] },
    ]);
    expect(text.match(/_count\{/g)).toHaveLength(1);
    expect(text.match(/^target_info/gm)).toHaveLength(1);
  });
});
