/**
 * The gRPC and plain HTTP/2 test peers themselves, without Sonde: every
 * client (grpc-js, grpc-go, grpcio) talks to every server, in cleartext and
 * over TLS, with the statuses and response counts the later tracing tests
 * rely on; failures on streaming calls really are Trailers-Only; nghttp,
 * h2load and curl get their answers from nghttpd and Go's net/http.
 */
import { connect, constants, type IncomingHttpHeaders } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { grpcPeerPaths, runGrpcClient, startGrpcServer, type GrpcCallResult, type GrpcKind } from '../helpers/grpc.js';
import { curlHttp2, runH2load, runNghttp, startGoHttp2Server, startNghttpd } from '../helpers/http2.js';
import type { Peer } from '../helpers/peers.js';
import { freePort } from '../helpers/ports.js';
import { makeCertificate } from '../helpers/tls.js';

const KINDS: GrpcKind[] = ['node', 'go', 'python'];
const pairs = KINDS.flatMap((server) => KINDS.map((client) => [server, client] as const));

/** callspec -> [code, responses, message] every client must see from every server. */
const EXPECTED: [string, number, number, string][] = [
  ['unary:hello', 0, 1, 'hello'],
  ['unary:NOT_FOUND', 5, 0, ''],
  ['unary:UNAVAILABLE', 14, 0, ''],
  ['unary:SLOW', 4, 0, ''],
  ['server:x', 0, 3, 'x'],
  ['server:NOT_FOUND', 5, 0, ''],
  ['client:a,b,c', 0, 1, 'a,b,c'],
  ['client:UNAVAILABLE', 14, 0, ''],
  ['bidi:a,b,c', 0, 3, 'c'],
  ['bidi:NOT_FOUND', 5, 0, ''],
];
const outcome = (r: GrpcCallResult): [number, number, string] => [r.code, r.responses, r.message];

let plain: Record<GrpcKind, Peer>;
let tls: Record<GrpcKind, Peer>;

beforeAll(async () => {
  // On a machine where setup.sh --test has not run, this builds (a minute at most).
  await grpcPeerPaths();
  makeCertificate();
  const started = await Promise.all([
    ...KINDS.map((k) => startGrpcServer(k, 0)),
    ...KINDS.map((k) => startGrpcServer(k, 0, { tls: true })),
  ]);
  plain = { node: started[0]!, go: started[1]!, python: started[2]! };
  tls = { node: started[3]!, go: started[4]!, python: started[5]! };
}, 300_000);

afterAll(async () => {
  await Promise.all([...Object.values(plain ?? {}), ...Object.values(tls ?? {})].map((p) => p.stop()));
});

describe.concurrent('gRPC, every client with every server', () => {
  it.each(pairs)('%s server, %s client: codes and response counts', async (server, client) => {
    const { results } = await runGrpcClient(client, `127.0.0.1:${plain[server].port}`, EXPECTED.map((e) => e[0]), { deadlineMs: 300 });
    const slow = EXPECTED.findIndex((e) => e[0] === 'unary:SLOW');
    if (server === 'go' && client !== 'go' && results[slow]?.code === 1) {
      // grpc-go's server transport resets the stream (RST_STREAM CANCEL) when
      // the grpc-timeout it was sent runs out, racing the client's own timer:
      // grpc-js and grpcio then report CANCELLED now and then (about 1 call
      // in 12 here); grpc-go's client turns it into DEADLINE_EXCEEDED.
      expect(results[slow]!.details).toMatch(/RST_STREAM|cancelled/i);
      results[slow] = { ...results[slow]!, code: 4 };
    }
    expect(results.map(outcome)).toEqual(EXPECTED.map(([, code, n, message]) => [code, n, message]));
    expect(results.filter((r) => r.code === 5).map((r) => r.details)).toEqual(['not found', 'not found', 'not found']);
  });

  it.each(pairs)('%s server, %s client: over TLS', async (server, client) => {
    const { results } = await runGrpcClient(client, `127.0.0.1:${tls[server].port}`, ['unary:secret', 'server:NOT_FOUND', 'bidi:a,b'], { tls: true });
    expect(results.map(outcome)).toEqual([
      [0, 1, 'secret'],
      [5, 0, ''],
      [0, 2, 'b'],
    ]);
  });

  it.each(KINDS)('%s client: --concurrent N calls at once', async (client) => {
    const { results } = await runGrpcClient(client, `127.0.0.1:${plain.go.port}`, ['unary:c', 'unary:NOT_FOUND'], { concurrent: 4 });
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 5, 5, 5, 5]);
  });

  it('grpc-go helloworld: SayHello', async () => {
    const { results } = await runGrpcClient('go', `127.0.0.1:${plain.go.port}`, ['hello:sonde', 'hello:NOT_FOUND']);
    expect(results.map(outcome)).toEqual([
      [0, 1, 'Hello sonde'],
      [5, 0, ''],
    ]);
  });
});

/**
 * One gRPC call over node:http2, to see what the frames carry: the response
 * headers, and the trailers if they came apart. The message must be short
 * (under 126 bytes: one-byte lengths).
 */
function rawCall(port: number, path: string, message: string): Promise<{ headers: IncomingHttpHeaders; trailers?: IncomingHttpHeaders; bytes: number }> {
  const body = Buffer.from(message);
  // Length-prefixed message: not compressed, 4-byte length; then field 1 (a string).
  const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, body.length + 2, 0x0a, body.length]), body]);
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: path,
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    let headers: IncomingHttpHeaders = {};
    let trailers: IncomingHttpHeaders | undefined;
    let bytes = 0;
    req.on('response', (h) => (headers = h));
    req.on('trailers', (t) => (trailers = t));
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('error', reject);
    req.on('end', () => {
      session.close();
      resolve({ headers, trailers, bytes });
    });
    req.end(frame);
  });
}

describe.concurrent('gRPC servers answer a failed streaming call Trailers-Only', () => {
  it.each(KINDS)('%s server', async (server) => {
    const failed = await rawCall(plain[server].port, '/grpc.examples.echo.Echo/ServerStreamingEcho', 'NOT_FOUND');
    expect(failed.headers[':status']).toBe(200);
    expect(failed.headers['grpc-status']).toBe('5');
    expect(failed.trailers).toBeUndefined();
    expect(failed.bytes).toBe(0);
    // And a good one ends with real trailers after the messages.
    const ok = await rawCall(plain[server].port, '/grpc.examples.echo.Echo/ServerStreamingEcho', 'x');
    expect(ok.headers['grpc-status']).toBeUndefined();
    expect(ok.trailers?.['grpc-status']).toBe('0');
    expect(ok.bytes).toBe(3 * 8);
  });
});

describe('plain HTTP/2', () => {
  let h2c: Peer;
  let h2: Peer;
  let go: Peer;
  let goTls: Peer;

  beforeAll(async () => {
    [h2c, h2, go, goTls] = await Promise.all([
      startNghttpd(await freePort(), { files: { 'a/b.txt': 'nested\n' } }),
      startNghttpd(await freePort(), { tls: true }),
      startGoHttp2Server(0),
      startGoHttp2Server(0, { tls: true }),
    ]);
  });

  afterAll(async () => {
    await Promise.all([h2c, h2, go, goTls].map((p) => p?.stop()));
  });

  it('nghttp: several streams on one connection, h2c and h2', async () => {
    const base = `http://127.0.0.1:${h2c.port}`;
    const got = await runNghttp([`${base}/index.html`, `${base}/big.bin`, `${base}/a/b.txt`, `${base}/missing`]);
    expect(got.exitCode).toBe(0);
    expect(got.responses.map((r) => [r.url.replace(base, ''), r.status])).toEqual([
      ['/index.html', 200],
      ['/big.bin', 200],
      ['/a/b.txt', 200],
      ['/missing', 404],
    ]);
    expect(got.responses[1]!.size).toBe(1 << 20);
    const posted = await runNghttp(`${base}/index.html`, { data: 'x'.repeat(1000), headers: { 'x-test': '1' } });
    expect(posted.responses.map((r) => [r.method, r.status])).toEqual([['POST', 200]]);
    const secure = await runNghttp(`https://127.0.0.1:${h2.port}/index.html`);
    expect(secure.responses.map((r) => r.status)).toEqual([200]);
  });

  it('h2load: many streams over a few connections', async () => {
    const clear = await runH2load(`http://127.0.0.1:${h2c.port}/index.html`, { requests: 200, clients: 4, streams: 8 });
    expect(clear.protocol).toBe('h2c');
    expect(clear.requests.succeeded).toBe(200);
    expect(clear.status['2xx']).toBe(200);
    const secure = await runH2load(`https://127.0.0.1:${h2.port}/index.html`, { requests: 50, clients: 2, streams: 4 });
    expect(secure.protocol).toBe('h2');
    expect(secure.status['2xx']).toBe(50);
  });

  it('curl: prior knowledge, Upgrade: h2c, and ALPN', async () => {
    const prior = await curlHttp2(`http://127.0.0.1:${h2c.port}/missing`, { priorKnowledge: true });
    expect(prior.results.map((r) => [r.httpVersion, r.status])).toEqual([['2', 404]]);
    const upgraded = await curlHttp2(`http://127.0.0.1:${go.port}/status/201`);
    expect(upgraded.results.map((r) => [r.httpVersion, r.status])).toEqual([['2', 201]]);
    const nghttpUpgrade = await runNghttp(`http://127.0.0.1:${go.port}/`, { upgrade: true });
    expect(nghttpUpgrade.responses.map((r) => r.status)).toEqual([200]);
    const alpn = await curlHttp2([`https://127.0.0.1:${h2.port}/index.html`, `https://127.0.0.1:${goTls.port}/`]);
    expect(alpn.results.map((r) => [r.httpVersion, r.status])).toEqual([
      ['2', 200],
      ['2', 200],
    ]);
  });
});
