/**
 * Spans exported over OTLP are received by receivers inside the test
 * (gRPC and http/protobuf), decoded, and checked field by field. A backend
 * that is down does not stop capture; its failures are counted, and
 * spans flow again once it is back. SIGTERM flushes what is queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, startNodeServer, type Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { startGrpcReceiver, startHttpReceiver, type Receiver } from '../helpers/otlpReceiver.js';
import { startSonde } from '../helpers/sonde.js';
import { waitFor } from '../helpers/wait.js';

let server: Peer;

beforeAll(async () => {
  server = await startNodeServer(await freePort(), '127.0.0.1', { OTEL_SERVICE_NAME: 'otlp-backend', OTEL_RESOURCE_ATTRIBUTES: 'service.namespace=shop' });
});

afterAll(async () => {
  await server?.stop();
});

function exporterEnv(receiverPort: number, protocol: 'grpc' | 'http/protobuf', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiverPort}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=team%20a',
    OTEL_BSP_SCHEDULE_DELAY: '100',
    ...extra,
  };
}

describe.each(['grpc', 'http/protobuf'] as const)('OTLP over %s', (protocol) => {
  let receiver: Receiver;
  beforeAll(async () => {
    const port = await freePort();
    receiver = protocol === 'grpc' ? await startGrpcReceiver(port) : await startHttpReceiver(port);
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it('delivers each span with its resource, scope, kind, times, attributes and status', async () => {
    const sonde = startSonde(['--open-port', String(server.port), '--print', 'disabled'], exporterEnv(receiver.port, protocol));
    try {
      await sonde.ready();
      const before = BigInt(Date.now()) * 1_000_000n;
      const [ok, failed] = await curl([`http://127.0.0.1:${server.port}/status/200`, `http://127.0.0.1:${server.port}/status/503`]);
      const after = BigInt(Date.now()) * 1_000_000n;
      await waitFor(() => receiver.spans.filter((s) => s.attributes['client.port'] === ok!.localPort).length >= 2, 'two spans at the receiver');
      expect(receiver.lastHeaders['x-tenant']).toBe('team a');
      const spans = receiver.spans.filter((s) => s.attributes['client.port'] === ok!.localPort).sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1));
      expect(spans).toHaveLength(2);
      const [s200, s503] = spans as [typeof spans[0], typeof spans[0]];

      expect(s200.resource['service.name']).toBe('otlp-backend');
      expect(s200.resource['service.namespace']).toBe('shop');
      expect(s200.resource['process.pid']).toBe(server.pid);
      expect(s200.resource['telemetry.distro.name']).toBe('sonde');
      expect(s200.resource['telemetry.sdk.language']).toBe('nodejs');
      expect(s200.scope.name).toBe('sonde');

      expect(s200.name).toBe('GET');
      expect(s200.kind).toBe(2); // SERVER
      expect(s200.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s200.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s200.parentSpanId).toBe('');
      expect(s200.startTimeUnixNano).toBeGreaterThanOrEqual(before - 5_000_000n);
      expect(s200.endTimeUnixNano).toBeLessThanOrEqual(after + 5_000_000n);
      expect(s200.endTimeUnixNano).toBeGreaterThan(s200.startTimeUnixNano);
      expect(s200.attributes).toMatchObject({
        'http.request.method': 'GET',
        'url.path': '/status/200',
        'url.scheme': 'http',
        'http.response.status_code': 200,
        'server.address': '127.0.0.1',
        'server.port': server.port,
        'client.address': '127.0.0.1',
        'network.peer.address': '127.0.0.1',
        'network.peer.port': ok!.localPort,
        'network.protocol.version': '1.1',
      });
      expect(s200.status.code).toBe(0);
      expect(s503.attributes['http.response.status_code']).toBe(503);
      expect(s503.attributes['error.type']).toBe('503');
      expect(s503.status.code).toBe(2); // ERROR
      expect(failed!.status).toBe(503);
    } finally {
      expect(await sonde.stop()).toBe(0);
    }
  });
});

describe('a backend that is down', () => {
  it('does not stop capture: failures are counted, and spans flow once it is back', async () => {
    const port = await freePort();
    const sonde = startSonde(['--open-port', String(server.port), '--print', 'disabled'], exporterEnv(port, 'grpc', { OTEL_BSP_EXPORT_TIMEOUT: '500' }));
    let receiver: Receiver | undefined;
    try {
      await sonde.ready();
      await curl([`http://127.0.0.1:${server.port}/status/201`]);
      await waitFor(() => sonde.logs.find((l) => l.msg.startsWith('span export failing')), 'Sonde to report the failing export');
      receiver = await startGrpcReceiver(port);
      // The exporter reconnects with backoff: keep making requests until one gets through.
      const ports = new Set<number>();
      let sending = true;
      const traffic = (async () => {
        while (sending) {
          ports.add((await curl([`http://127.0.0.1:${server.port}/status/202`]))[0]!.localPort);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      await waitFor(() => receiver!.spans.some((s) => ports.has(s.attributes['client.port'] as number)), 'a span made after the backend came back', 20_000);
      sending = false;
      await traffic;
    } finally {
      expect(await sonde.stop()).toBe(0);
      await receiver?.close();
    }
    const stopped = sonde.logs.find((l) => l.msg === 'sonde stopped')!;
    const [exportStats] = stopped['export'] as Array<{ exported: number; failed: number }>;
    expect(exportStats!.exported).toBeGreaterThanOrEqual(1);
    expect(exportStats!.failed).toBeGreaterThanOrEqual(1);
    expect((stopped['spans'] as number)).toBeGreaterThanOrEqual(2);
  });
});

describe('SIGTERM', () => {
  it('flushes spans still queued before exiting', async () => {
    const receiver = await startGrpcReceiver(await freePort());
    // A minute of batching delay: only the shutdown flush can deliver the span in time.
    // The printer shows when Sonde has the span; the exporter would hold it a minute.
    const sonde = startSonde(['--open-port', String(server.port), '--print', 'json'], exporterEnv(receiver.port, 'grpc', { OTEL_BSP_SCHEDULE_DELAY: '60000' }));
    try {
      await sonde.ready();
      const [r] = await curl([`http://127.0.0.1:${server.port}/`]);
      await sonde.waitForSpans((s) => s.attributes['client.port'] === r!.localPort, 1);
      expect(receiver.spans).toHaveLength(0);
      expect(await sonde.stop('SIGTERM')).toBe(0);
      expect(receiver.spans.filter((s) => s.attributes['client.port'] === r!.localPort)).toHaveLength(1);
    } finally {
      await receiver.close();
    }
  });
});
