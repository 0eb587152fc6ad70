/**
 * Incoming W3C Trace Context through the real `sonde run`: a request that
 * carries traceparent (HTTP/1 header, HTTP/2 header, gRPC metadata) gives a
 * SERVER span in that trace, the child of the remote parent; a trace the
 * caller did not sample gives no span, counted.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGrpcClient, startGrpcServer } from '../helpers/grpc.js';
import { startNghttpd, curlHttp2 } from '../helpers/http2.js';
import { curl, startPython, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';

let sonde: SondeProcess;
let python: Peer;
let nghttpd: Peer;
let grpcServer: Peer;

beforeAll(async () => {
  [python, nghttpd, grpcServer] = await Promise.all([startPython(await freePort()), startNghttpd(await freePort()), startGrpcServer('node', 0)]);
  sonde = startSonde(['--open-port', [python, nghttpd, grpcServer].map((p) => p.port).join(',')]);
  await sonde.ready();
}, 60_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([python, nghttpd, grpcServer].map((p) => p?.stop()));
});

/** A fresh traceparent: its trace id, parent id and header value. */
function traceparent(flags = '01'): { traceId: string; parentId: string; header: string } {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-${flags}` };
}

const serverSpansOn = (port: number) => (s: PrintedSpan): boolean => s.kind === 'SERVER' && s.attributes['server.port'] === port;

describe('a request carrying traceparent', () => {
  it('HTTP/1.1: the SERVER span is in its trace, the child of the remote parent, with its tracestate', async () => {
    const tp = traceparent();
    const [r] = await curl([`http://127.0.0.1:${python.port}/`], ['-H', `traceparent: ${tp.header}`, '-H', 'tracestate: shop=1']);
    expect(r!.status).toBe(200);
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(python.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.parentSpanId).toBe(tp.parentId);
    expect(span!.spanId).not.toBe(tp.parentId);
    expect(span!.traceState).toBe('shop=1');
  });

  it('HTTP/2: the same from an HTTP/2 header field', async () => {
    const tp = traceparent();
    await curlHttp2(`http://127.0.0.1:${nghttpd.port}/`, { priorKnowledge: true, extra: ['-H', `traceparent: ${tp.header}`] });
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(nghttpd.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.parentSpanId).toBe(tp.parentId);
  });

  it('gRPC: the same from call metadata', async () => {
    const tp = traceparent();
    const { results } = await runGrpcClient('node', `127.0.0.1:${grpcServer.port}`, ['unary:hello'], { metadata: { traceparent: tp.header } });
    expect(results[0]!.code).toBe(0);
    const [span] = await sonde.waitForSpans((s) => serverSpansOn(grpcServer.port)(s) && s.traceId === tp.traceId, 1);
    expect(span!.name).toBe('grpc.examples.echo.Echo/UnaryEcho');
    expect(span!.parentSpanId).toBe(tp.parentId);
  });

  it('a trace the caller did not sample (flags 00) gives no span; the next request without one does', async () => {
    const unsampled = traceparent('00');
    const [a, b] = await curl([`http://127.0.0.1:${python.port}/`, `http://127.0.0.1:${python.port}/index.html`], ['-H', `traceparent: ${unsampled.header}`]);
    expect([a!.status, b!.status]).toEqual([200, 200]);
    // Same connection, a request after them without the header: once its span is in, theirs would have been too.
    const [after] = await curl([`http://127.0.0.1:${python.port}/index.html?after`]);
    await sonde.waitForSpans((s) => serverSpansOn(python.port)(s) && s.attributes['client.port'] === after!.localPort, 1);
    expect(sonde.spansWhere((s) => s.traceId === unsampled.traceId)).toEqual([]);
    expect(sonde.spansWhere((s) => serverSpansOn(python.port)(s) && s.attributes['client.port'] === a!.localPort)).toEqual([]);
  });
});
