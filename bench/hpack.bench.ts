/**
 * HPACK decode throughput: `npx vitest bench --run bench/hpack.bench.ts`.
 * The blocks are gRPC calls as a typical encoder writes them (request
 * headers, response headers, trailers on one connection); header blocks
 * per second and MB/s of block bytes are printed as each case ends.
 */
import { bench, describe } from 'vitest';
import { HpackDecoder, type HeaderField } from '../protocols/http2/hpack/index.js';
import { prng, ReferenceEncoder } from '../test/unit/hpackHelpers.js';

interface Flow {
  /** One direction's blocks, in order: a decoder per flow per run. */
  readonly toServer: readonly Uint8Array[];
  readonly toClient: readonly Uint8Array[];
}

const CALLS = 1000;
const METHODS = ['Greet', 'ListUsers', 'GetUser', 'UpdateUser', 'Watch'];
/** Values that change on every call: encoders leave them out of the table. */
const NOT_INDEXED = new Set(['grpc-timeout', 'traceparent', 'x-request-id', 'grpc-message']);
const TOKEN = `Bearer ${'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9'}.${'a'.repeat(40)}${'Zm9vYmFy'.repeat(20)}`;

function hexOf(random: () => number, n: number): string {
  return Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
}

function request(random: () => number, i: number, withToken: boolean): HeaderField[] {
  const headers: HeaderField[] = [
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', `/acme.users.v1.UserService/${METHODS[i % METHODS.length]!}`],
    [':authority', 'users.acme.svc.cluster.local:50051'],
    ['content-type', 'application/grpc'],
    ['user-agent', 'grpc-go/1.64.0'],
    ['te', 'trailers'],
    ['grpc-accept-encoding', 'identity,deflate,gzip'],
    ['grpc-timeout', `${1 + Math.floor(random() * 99999)}u`],
    ['traceparent', `00-${hexOf(random, 32)}-${hexOf(random, 16)}-01`],
  ];
  if (withToken) headers.push(['authorization', TOKEN]);
  return headers;
}

function response(): HeaderField[] {
  return [
    [':status', '200'],
    ['content-type', 'application/grpc'],
    ['grpc-accept-encoding', 'identity,deflate,gzip'],
  ];
}

function trailers(random: () => number): HeaderField[] {
  if (random() < 0.95) return [['grpc-status', '0']];
  return [
    ['grpc-status', '14'],
    ['grpc-message', `upstream connect error or disconnect/reset before headers. reset reason: ${hexOf(random, 8)}`],
  ];
}

/** `connections` connections of `calls` calls each, concatenated. */
function calls(connections: number, callsEach: number, withToken: boolean): Flow[] {
  const random = prng(2024);
  return Array.from({ length: connections }, () => {
    const client = new ReferenceEncoder(4096, 4096, random);
    const server = new ReferenceEncoder(4096, 4096, random);
    const toServer: Uint8Array[] = [];
    const toClient: Uint8Array[] = [];
    for (let i = 0; i < callsEach; i++) {
      toServer.push(client.encode(request(random, i, withToken), NOT_INDEXED));
      toClient.push(server.encode(response(), NOT_INDEXED), server.encode(trailers(random), NOT_INDEXED));
    }
    return { toServer, toClient };
  });
}

const CASES: readonly (readonly [string, readonly Flow[]])[] = [
  [`${CALLS} unary calls on one connection (steady state: mostly indexed)`, calls(1, CALLS, false)],
  [`${CALLS} unary calls on one connection with a bearer token`, calls(1, CALLS, true)],
  [`${CALLS} connections of one call each (cold tables: literals, Huffman)`, calls(CALLS, 1, true)],
];

const totals = new Map<string, { bytes: number; blocks: number; ns: number }>();

function decodeAll(flows: readonly Flow[]): number {
  let fields = 0;
  for (const flow of flows) {
    for (const blocks of [flow.toServer, flow.toClient]) {
      const d = new HpackDecoder();
      for (const b of blocks) {
        const r = d.decode(b);
        if (!r.ok) throw new Error(`bench block failed: ${r.error}`);
        fields += r.headers.length;
      }
    }
  }
  return fields;
}

function report(name: string): void {
  const t = totals.get(name);
  if (t === undefined) return;
  const seconds = t.ns / 1e9;
  const perBlock = t.ns / t.blocks;
  console.log(
    `${name}: ${(t.blocks / seconds / 1e6).toFixed(2)} M blocks/s, ${(t.bytes / 1e6 / seconds).toFixed(0)} MB/s, ${perBlock.toFixed(0)} ns per block`,
  );
}

describe('HpackDecoder', () => {
  for (const [name, flows] of CASES) {
    const blocks = flows.reduce((n, f) => n + f.toServer.length + f.toClient.length, 0);
    const bytes = flows.reduce((n, f) => n + [...f.toServer, ...f.toClient].reduce((m, b) => m + b.length, 0), 0);
    bench(
      `${name} (${blocks} blocks, ${(bytes / 1024).toFixed(0)} KiB)`,
      () => {
        const start = process.hrtime.bigint();
        decodeAll(flows);
        const ns = Number(process.hrtime.bigint() - start);
        const t = totals.get(name) ?? { bytes: 0, blocks: 0, ns: 0 };
        totals.set(name, { bytes: t.bytes + bytes, blocks: t.blocks + blocks, ns: t.ns + ns });
      },
      {
        // afterAll does not run in bench mode; a case's teardown does, after its warm-up and after its runs.
        teardown: (_task, mode) => {
          if (mode === 'warmup') totals.delete(name);
          else report(name);
        },
      },
    );
  }
});
