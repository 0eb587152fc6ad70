/**
 * The compose demo without containers: its three services (Python, Node.js,
 * Go) and its load generator run here, traced by Sonde with no change to
 * them, into a real Jaeger. Each checkout is one trace: loadgen (curl) ->
 * frontend -> inventory and pricing, every span the child of its caller.
 * Inventory's gRPC call to pricing is a trace of its own (CLIENT -> SERVER)
 * unless a thread tie proves which request it serves: Sonde does not yet
 * follow Node.js's async context (README, "Trace context").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../helpers/demo.js';
import { findTraces, jaegerBinary, startJaeger, waitForSpans, type Jaeger, type JaegerSpan } from '../helpers/jaeger.js';
import { stopper } from '../helpers/peers.js';
import { waitForAsync } from '../helpers/wait.js';
import { configFile, ROOT, startSonde, type SondeProcess } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';

let jaeger: Jaeger;
let demo: Demo;
let sonde: SondeProcess;

beforeAll(async () => {
  jaeger = await startJaeger({ binary: await jaegerBinary() });
  demo = await startDemo();
  // The compose demo's own Sonde configuration, with the ports the services have here.
  const ports = [demo.frontend.port, demo.inventory.port, demo.pricing.port, demo.pricingGrpcPort].join(',');
  const config = readFileSync(join(ROOT, 'demo/sonde.yaml'), 'utf8').replace('"8080,3000,8081,50051"', `"${ports}"`);
  expect(config).toContain(ports);
  sonde = startSonde(['--config', configFile(config), '--print', 'disabled'], { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${jaeger.otlpHttpEndpoint}/v1/traces`, OTEL_BSP_SCHEDULE_DELAY: '200' });
  await sonde.ready();
}, 180_000);

afterAll(async () => {
  await sonde?.stop();
  await demo?.stop();
  await jaeger?.stop();
});

describe('the compose demo, run here', () => {
  it('every checkout is one trace from the load generator through frontend to inventory and pricing', async () => {
    const loadgen = spawnTied('sh', [join(ROOT, 'demo/loadgen/loadgen.sh'), `http://127.0.0.1:${demo.frontend.port}`], {
      env: { ...process.env, RATE_MS: '200' },
      stdio: 'ignore',
    });
    const svc = (s: JaegerSpan): string => String(s.resource['service.name']);
    const tracesOf = (spans: JaegerSpan[]): Map<string, JaegerSpan[]> => {
      const m = new Map<string, JaegerSpan[]>();
      for (const s of spans) m.set(s.traceId, [...(m.get(s.traceId) ?? []), s]);
      return m;
    };
    // Load until five checkouts have all their spans in Jaeger.
    let byTrace = new Map<string, JaegerSpan[]>();
    try {
      await waitForAsync(async () => {
        byTrace = tracesOf(await findTraces(jaeger, { service: 'frontend' }));
        return [...byTrace.values()].filter((t) => t.length >= 6).length >= 5;
      }, 'five complete checkout traces', 30_000, 250).catch((e: Error) => {
        const shapes = [...byTrace.values()].map((t) => t.map((s) => `${svc(s)}:${s.kind}:${s.name}`).sort().join(' '));
        throw new Error(`${e.message}; traces:\n${shapes.join('\n')}`);
      });
    } finally {
      await stopper(loadgen)();
    }
    const parentOf = (trace: JaegerSpan[], s: JaegerSpan): JaegerSpan | undefined => trace.find((p) => p.spanId === s.parentSpanId);
    let whole = 0;
    for (const trace of byTrace.values()) {
      // A checkout still under way when Jaeger was asked has not all its spans yet.
      if (trace.length < 6) continue;
      const shape = trace.map((s) => `${svc(s)}:${s.kind}:${parentOf(trace, s) ? `${svc(parentOf(trace, s)!)}:${parentOf(trace, s)!.kind}` : 'root'}`).sort();
      // Inventory's gRPC call joins when a thread tie proves it (its thread has served one connection only: the first checkout).
      const grpcLeg = ['inventory:CLIENT:inventory:SERVER', 'pricing:SERVER:inventory:CLIENT'];
      const core = shape.filter((e) => !grpcLeg.includes(e));
      expect(core).toEqual([
        'frontend:CLIENT:frontend:SERVER',
        'frontend:CLIENT:frontend:SERVER',
        'frontend:SERVER:loadgen:CLIENT',
        'inventory:SERVER:frontend:CLIENT',
        'loadgen:CLIENT:root',
        'pricing:SERVER:frontend:CLIENT',
      ]);
      expect(shape.length === core.length || shape.length === core.length + 2).toBe(true);
      whole++;
    }
    expect(whole).toBeGreaterThanOrEqual(5);
    // Inventory's gRPC call: pricing's SERVER span is the child of inventory's CLIENT span.
    const isGrpcServer = (s: JaegerSpan): boolean => s.kind === 'SERVER' && s.name === 'helloworld.Greeter/SayHello';
    await waitForSpans(jaeger, 'pricing', isGrpcServer, whole, 30_000);
    const grpc = (await findTraces(jaeger, { service: 'pricing' })).filter((s) => s.name === 'helloworld.Greeter/SayHello');
    const servers = grpc.filter(isGrpcServer);
    expect(servers.length).toBeGreaterThanOrEqual(whole);
    for (const server of servers) expect(grpc.find((s) => s.spanId === server.parentSpanId)).toMatchObject({ kind: 'CLIENT', resource: { 'service.name': 'inventory' } });
  });
});
