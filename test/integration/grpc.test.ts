/**
 * gRPC through the real `sonde run`: grpc-js, grpc-go and grpcio (Python)
 * servers and clients, unary and streaming, over h2c and TLS. One span per
 * call on each traced side, named package.Service/Method, with the status
 * code the client itself reported, failing calls included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcPeerPaths, runGrpcClient, startGrpcServer, type GrpcKind } from '../helpers/grpc.js';
import type { Peer } from '../helpers/peers.js';
import { configFile, startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';

let sonde: SondeProcess;
const servers = new Map<string, Peer>();

beforeAll(async () => {
  const paths = await grpcPeerPaths();
  for (const kind of ['node', 'go', 'python'] as const) servers.set(kind, await startGrpcServer(kind, 0));
  servers.set('node-tls', await startGrpcServer('node', 0, { tls: true }));
  const ports = [...servers.values()].map((p) => p.port).join(',');
  sonde = startSonde([
    '--config',
    // grpc-go's client too, for its CLIENT spans (its binary is its own; the
    // node and python clients are selected by pid, below).
    configFile(`discovery:\n  instrument:\n    - open_ports: "${ports}"\n    - exe_path: "${paths.goClient}"\n`),
  ]);
  await sonde.ready();
}, 180_000);

afterAll(async () => {
  await sonde?.stop();
  await Promise.all([...servers.values()].map((p) => p.stop()));
});

const ECHO = 'grpc.examples.echo.Echo';

const serverSpansOf = (server: Peer, pid: number | undefined = undefined) => (s: PrintedSpan): boolean =>
  s.kind === 'SERVER' && s.attributes['server.port'] === server.port && s.attributes['rpc.system'] === 'grpc' && (pid === undefined || s.resource['process.pid'] === pid);

const byStart = (a: PrintedSpan, b: PrintedSpan): number => (BigInt(a.startTimeUnixNano) < BigInt(b.startTimeUnixNano) ? -1 : 1);

/** The calls every client makes, and the span each must give. */
const CALLS = [
  { spec: 'unary:hello', method: 'UnaryEcho', code: 0 },
  { spec: 'unary:NOT_FOUND', method: 'UnaryEcho', code: 5 },
  { spec: 'unary:UNAVAILABLE', method: 'UnaryEcho', code: 14 },
  { spec: 'server:s', method: 'ServerStreamingEcho', code: 0 },
  { spec: 'client:a,b,c', method: 'ClientStreamingEcho', code: 0 },
  { spec: 'bidi:x,y', method: 'BidirectionalStreamingEcho', code: 0 },
  { spec: 'server:NOT_FOUND', method: 'ServerStreamingEcho', code: 5 },
];

/** One span per call, in call order, with the method and the code the client saw. */
async function expectCallSpans(server: Peer, fresh: (s: PrintedSpan) => boolean, expected: Array<{ method: string; code: number }>): Promise<PrintedSpan[]> {
  const spans = (await sonde.waitForSpans((s) => serverSpansOf(server)(s) && fresh(s), expected.length)).sort(byStart);
  expect(spans.map((s) => [s.name, s.attributes['rpc.grpc.status_code']])).toEqual(expected.map((e) => [`${ECHO}/${e.method}`, e.code]));
  for (const [i, s] of spans.entries()) {
    expect(s.attributes['rpc.service']).toBe(ECHO);
    expect(s.attributes['rpc.method']).toBe(expected[i]!.method);
    expect(s.attributes['network.protocol.version']).toBe('2');
    // Server faults fail a SERVER span; a caller's mistake (NOT_FOUND) does not.
    expect(s.status.code).toBe([2, 4, 12, 13, 14, 15].includes(expected[i]!.code) ? 'ERROR' : 'UNSET');
  }
  return spans;
}

// Every server with every client. grpcio's gRPC core writes each header
// field from its own iovec; grpc-js writes a frame per iovec.
const KINDS: readonly GrpcKind[] = ['node', 'go', 'python'];
const PAIRS: ReadonlyArray<readonly [GrpcKind, GrpcKind]> = KINDS.flatMap((server) => KINDS.map((client) => [server, client] as const));

/**
 * Spans printed from now on. Not "on a client port not seen yet": Linux
 * hands the next connection to the same server the port just freed.
 */
function newSpans(): (s: PrintedSpan) => boolean {
  const seen = new Set(sonde.spans);
  return (s) => !seen.has(s);
}

describe.each(PAIRS)('%s gRPC server', (serverKind, clientKind) => {
  it(`called by the ${clientKind} client: one SERVER span per call with its method and status`, async () => {
    const server = servers.get(serverKind)!;
    const fresh = newSpans();
    const { results } = await runGrpcClient(clientKind, `127.0.0.1:${server.port}`, CALLS.map((c) => c.spec));
    expect(results.map((r) => r.code)).toEqual(CALLS.map((c) => c.code));
    await expectCallSpans(server, fresh, CALLS);
  });
});

// Hundreds of calls at once on one connection: a client writes many
// streams' HEADERS in one call, a server answers many in one writev (grpc-js:
// 600 iovecs), and one read takes in kilobytes of interleaved frames. The
// kernel copies HTTP/2 connections whole, gathering iovecs into records.
describe('hundreds of concurrent streams', () => {
  const CONCURRENT: ReadonlyArray<readonly [GrpcKind, GrpcKind]> = [
    ['node', 'node'],
    ['node', 'go'],
    ['go', 'node'],
    ['python', 'go'],
  ];
  it.each(CONCURRENT)('the %s server, 200 concurrent unary calls from the %s client: 200 spans, one per stream', async (serverKind, clientKind) => {
    const server = servers.get(serverKind)!;
    const fresh = newSpans();
    const { results } = await runGrpcClient(clientKind, `127.0.0.1:${server.port}`, ['unary:hello', 'unary:NOT_FOUND'], { concurrent: 100 });
    expect(results.map((r) => r.code).sort()).toEqual([...Array(100).fill(0), ...Array(100).fill(5)]);
    const spans = await sonde.waitForSpans((s) => serverSpansOf(server)(s) && fresh(s), 200);
    expect(spans).toHaveLength(200);
    expect(new Set(spans.map((s) => s.attributes['client.port'])).size).toBe(1); // one connection
    expect(spans.filter((s) => s.attributes['rpc.grpc.status_code'] === 0)).toHaveLength(100);
    expect(spans.filter((s) => s.attributes['rpc.grpc.status_code'] === 5)).toHaveLength(100);
    expect(spans.every((s) => s.name === `${ECHO}/UnaryEcho` && s.attributes['sonde.unrecovered'] === undefined)).toBe(true);
  });
});

describe('failing calls and deadlines', () => {
  it.each(['node', 'go'] as const)('a call past its deadline is DEADLINE_EXCEEDED on the %s server, as the client saw it', async (serverKind) => {
    const server = servers.get(serverKind)!;
    const fresh = newSpans();
    const { results } = await runGrpcClient('go', `127.0.0.1:${server.port}`, ['unary:SLOW'], { deadlineMs: 300 });
    expect(results.map((r) => r.code)).toEqual([4]);
    const [span] = await sonde.waitForSpans((s) => serverSpansOf(server)(s) && fresh(s), 1);
    expect(span!.attributes['rpc.grpc.status_code']).toBe(4);
    expect(span!.attributes['error.type']).toBe('DEADLINE_EXCEEDED');
  });
});

describe('CLIENT spans', () => {
  // Each client is selected alone, by its pid, by a Sonde of its own: selecting
  // node or python by executable would trace every test's processes.
  it.each(KINDS)('the %s client: one CLIENT span per call, with the status it got, failing ones in error', async (clientKind) => {
    const server = servers.get('go')!;
    let own: SondeProcess | undefined;
    try {
      const { pid, results } = await runGrpcClient(clientKind, `127.0.0.1:${server.port}`, CALLS.map((c) => c.spec), {
        beforeStart: async (pid) => {
          own = startSonde(['--pid', String(pid)]);
          await own.ready();
        },
      });
      expect(results.map((r) => r.code)).toEqual(CALLS.map((c) => c.code));
      await expectClientSpans(own!, pid, server);
    } finally {
      await own?.stop();
    }
  });
});

/** One CLIENT span per call of CALLS from `pid`, with the status the client got. */
async function expectClientSpans(own: SondeProcess, pid: number, server: Peer): Promise<void> {
  const spans = (await own.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === pid, CALLS.length)).sort(byStart);
  expect(spans.map((s) => [s.name, s.attributes['rpc.grpc.status_code'], s.status.code])).toEqual(
    CALLS.map((c) => [`${ECHO}/${c.method}`, c.code, c.code === 0 ? 'UNSET' : 'ERROR']),
  );
  expect(spans.every((s) => s.attributes['server.port'] === server.port && s.attributes['network.peer.address'] === '127.0.0.1')).toBe(true);
}

describe('grpc-go helloworld', () => {
  it("grpc-go's helloworld client: helloworld.Greeter/SayHello and echo calls on one connection", async () => {
    const server = servers.get('go')!;
    const { pid, results } = await runGrpcClient('go', `127.0.0.1:${server.port}`, ['hello:sonde', 'unary:hi', 'unary:NOT_FOUND']);
    expect(results.map((r) => r.code)).toEqual([0, 0, 5]);
    const spans = (await sonde.waitForSpans((s) => s.kind === 'CLIENT' && s.resource['process.pid'] === pid, 3)).sort(byStart);
    expect(spans.map((s) => [s.name, s.attributes['rpc.grpc.status_code'], s.status.code])).toEqual([
      ['helloworld.Greeter/SayHello', 0, 'UNSET'],
      [`${ECHO}/UnaryEcho`, 0, 'UNSET'],
      [`${ECHO}/UnaryEcho`, 5, 'ERROR'],
    ]);
    expect(spans[0]!.attributes['server.port']).toBe(server.port);
    expect(spans[0]!.attributes['network.peer.address']).toBe('127.0.0.1');
  });
});

// grpc-js uses node's OpenSSL, which the TLS probes cover; Go's crypto/tls
// and the BoringSSL linked into grpcio are not OpenSSL or GnuTLS (README).
describe('gRPC over TLS (ALPN h2, through the TLS probes)', () => {
  it.each(['node'] as const)('the %s server over TLS: the same spans, with url.scheme https', async (kind) => {
    const server = servers.get(`${kind}-tls`)!;
    const calls = CALLS.slice(0, 4);
    const fresh = newSpans();
    const { results } = await runGrpcClient(kind, `127.0.0.1:${server.port}`, calls.map((c) => c.spec), { tls: true });
    expect(results.map((r) => r.code)).toEqual(calls.map((c) => c.code));
    const spans = await expectCallSpans(server, fresh, calls);
    expect(spans.every((s) => s.attributes['url.scheme'] === 'https')).toBe(true);
  });
});
