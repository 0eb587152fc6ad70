/** Transactions to spans, per the OpenTelemetry HTTP semantic conventions. */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { describe, expect, it } from 'vitest';
import type { ObservedTransaction } from '../../collector/conn/ConnectionTracker.js';
import { buildHttpSpan, headerCapture, splitHost, splitTarget } from '../../collector/spans/httpSpan.js';
import { spanToJson, spanToText } from '../../collector/export/TracePrinter.js';
import type { HttpTransaction } from '../../protocols/types.js';

const resource = resourceFromAttributes({ 'service.name': 'shop', 'process.pid': 42 });
const toHrTime = (ns: number): [number, number] => [1_700_000_000 + Math.floor(ns / 1e9), ns % 1e9];

function tx(over: Partial<HttpTransaction> = {}): HttpTransaction {
  return {
    protocol: 'HTTP/1.1',
    method: 'GET',
    target: '/cart/items?id=7&token=s3cret',
    requestHeaders: [['host', 'shop.local:8080'], ['user-agent', 'curl/8'], ['authorization', 'Bearer x'], ['cookie', 'a=b']],
    requestBodySize: 0,
    requestStart: 1000,
    requestEnd: 2000,
    status: 200,
    responseHeaders: [['set-cookie', 'c=d']],
    responseBodySize: 5,
    responseStart: 5000,
    responseEnd: 9000,
    truncated: false,
    ...over,
  };
}

function observed(role: 'client' | 'server', t: HttpTransaction = tx()): ObservedTransaction {
  return {
    tx: t,
    sock: 1n,
    pid: 42,
    role,
    endpoints: { networkType: 'ipv4', local: { address: '10.0.0.1', port: 8080 }, remote: { address: '10.0.0.2', port: 50000 } },
    tls: false,
    exchange: undefined,
    mirrored: false,
  };
}

describe('HTTP spans', () => {
  it('a SERVER span: name, kind, times and attributes', () => {
    const s = buildHttpSpan(observed('server'), resource, { urlQuery: false, toHrTime });
    expect(s.name).toBe('GET');
    expect(s.kind).toBe(SpanKind.SERVER);
    expect(s.startTime).toEqual(toHrTime(1000));
    expect(s.endTime).toEqual(toHrTime(9000));
    expect(s.duration).toEqual([0, 8000]);
    expect(s.attributes).toEqual({
      'http.request.method': 'GET',
      'http.response.status_code': 200,
      'network.protocol.version': '1.1',
      'network.peer.address': '10.0.0.2',
      'network.peer.port': 50000,
      'http.request.body.size': 0,
      'http.response.body.size': 5,
      'user_agent.original': 'curl/8',
      'url.path': '/cart/items',
      'url.scheme': 'http',
      'server.address': 'shop.local',
      'server.port': 8080,
      'client.address': '10.0.0.2',
      'client.port': 50000,
    });
    expect(s.status.code).toBe(SpanStatusCode.UNSET);
    expect(s.resource).toBe(resource);
  });

  it('never carries credentials, cookies or bodies; the query only when asked', () => {
    const text = JSON.stringify(buildHttpSpan(observed('server'), resource, { urlQuery: false, toHrTime }).attributes);
    expect(text).not.toMatch(/Bearer|a=b|c=d|s3cret/);
    const withQuery = buildHttpSpan(observed('server'), resource, { urlQuery: true, toHrTime });
    expect(withQuery.attributes['url.query']).toBe('id=7&token=REDACTED');
    const client = buildHttpSpan(observed('client'), resource, { urlQuery: true, toHrTime });
    expect(client.attributes['url.full']).toBe('http://shop.local:8080/cart/items?id=7&token=REDACTED');
  });

  it('records the headers asked for, as string arrays, and never credentials even when asked', () => {
    const t = tx({
      requestHeaders: [['host', 'shop.local'], ['x-request-id', 'r-1'], ['accept', 'a/b'], ['accept', 'c/d'], ['authorization', 'Bearer x']],
      responseHeaders: [['content-type', 'text/plain'], ['set-cookie', 'c=d']],
    });
    const headers = headerCapture(['X-Request-Id', 'accept', 'authorization'], ['content-type', 'set-cookie'])!;
    const s = buildHttpSpan(observed('server', t), resource, { urlQuery: false, toHrTime, headers });
    expect(s.attributes['http.request.header.x-request-id']).toEqual(['r-1']);
    expect(s.attributes['http.request.header.accept']).toEqual(['a/b', 'c/d']);
    expect(s.attributes['http.response.header.content-type']).toEqual(['text/plain']);
    expect(JSON.stringify(s.attributes)).not.toMatch(/Bearer|c=d|authorization|set-cookie/);
    const c = buildHttpSpan(observed('client', t), resource, { urlQuery: false, toHrTime, headers });
    expect(c.attributes['http.request.header.x-request-id']).toEqual(['r-1']);
  });

  it('a CLIENT span: url.full and the server it called', () => {
    const s = buildHttpSpan(observed('client'), resource, { urlQuery: false, toHrTime });
    expect(s.kind).toBe(SpanKind.CLIENT);
    expect(s.attributes['url.full']).toBe('http://shop.local:8080/cart/items');
    expect(s.attributes['server.address']).toBe('shop.local');
    expect(s.attributes['server.port']).toBe(50000);
    expect(s.attributes['url.path']).toBeUndefined();
    expect(s.attributes['client.address']).toBeUndefined();
  });

  it('error status: 5xx on servers, 4xx and 5xx on clients', () => {
    const at = (role: 'client' | 'server', status: number): number => buildHttpSpan(observed(role, tx({ status })), resource, { urlQuery: false, toHrTime }).status.code;
    expect(at('server', 404)).toBe(SpanStatusCode.UNSET);
    expect(at('server', 503)).toBe(SpanStatusCode.ERROR);
    expect(at('client', 404)).toBe(SpanStatusCode.ERROR);
    expect(at('client', 302)).toBe(SpanStatusCode.UNSET);
  });

  it('unknown methods are _OTHER, named HTTP', () => {
    const s = buildHttpSpan(observed('server', tx({ method: 'PROPFIND' })), resource, { urlQuery: false, toHrTime });
    expect(s.name).toBe('HTTP');
    expect(s.attributes['http.request.method']).toBe('_OTHER');
    expect(s.attributes['http.request.method_original']).toBe('PROPFIND');
  });

  it('host headers and request targets', () => {
    expect(splitHost('[::1]:8080')).toEqual({ name: '::1', port: 8080 });
    expect(splitHost('example.com')).toEqual({ name: 'example.com' });
    expect(splitHost(' example.com:80 ')).toEqual({ name: 'example.com', port: 80 });
    expect(splitHost('[::1]')).toEqual({ name: '::1' });
    for (const bad of ['a:b:c', 'name:', 'name:http', 'name:99999', '[::1', '[::1]x']) expect(splitHost(bad)).toEqual({ name: bad });
    expect(splitTarget('http://proxy.example/a/b?c=d#frag')).toEqual({ path: '/a/b', query: 'c=d' });
    expect(splitTarget('*')).toEqual({ path: '*' });
  });

  it('prints as one JSON object per span, with exact nanosecond times', () => {
    const s = buildHttpSpan(observed('server'), resource, { urlQuery: false, toHrTime });
    const j = JSON.parse(spanToJson(s)) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual(['name', 'kind', 'traceId', 'spanId', 'parentSpanId', 'startTimeUnixNano', 'endTimeUnixNano', 'status', 'attributes', 'resource']);
    expect(j.kind).toBe('SERVER');
    expect(j.startTimeUnixNano).toBe('1700000000000001000');
    expect(j.endTimeUnixNano).toBe('1700000000000009000');
    expect(j.status).toEqual({ code: 'UNSET' });
    expect((j.resource as Record<string, unknown>)['process.pid']).toBe(42);
    expect(spanToText(s)).toMatch(/SERVER shop\[42\] GET \/cart\/items -> 200 0\.008ms peer 10\.0\.0\.2:50000$/);
  });
});
