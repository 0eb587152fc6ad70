/**
 * HTTP/1 parse throughput: `npx vitest bench --run bench/http1-parse.bench.ts`.
 * Each case states the bytes one run feeds; the MB/s of captured bytes
 * parsed and the time per transaction are printed as each case ends.
 */
import { bench, describe } from 'vitest';
import { Http1Parser } from '../protocols/http1/Http1Parser.js';
import { FIXTURES, bytes, loadFixture, type Step } from '../test/unit/http1/replay.js';

interface Read {
  readonly toServer: boolean;
  readonly data: Uint8Array;
  readonly length: number;
}

const REQUEST =
  'GET /api/v1/users/12345?include=profile HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n';
const BODY = '{"id":12345,"name":"Ada"}';
const RESPONSE = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\nDate: Sat, 21 Nov 2026 08:00:00 GMT\r\nConnection: keep-alive\r\n\r\n${BODY}`;
const EXCHANGES = 1000;

function reads(parts: readonly (readonly [boolean, string])[]): Read[] {
  return parts.map(([toServer, text]) => {
    const data = bytes(text);
    return { toServer, data, length: data.length };
  });
}

/** Splits each read into pieces of `size` bytes. */
function split(input: readonly Read[], size: number): Read[] {
  return input.flatMap((r) =>
    Array.from({ length: Math.ceil(r.data.length / size) }, (_, i) => {
      const data = r.data.subarray(i * size, (i + 1) * size);
      return { toServer: r.toServer, data, length: data.length };
    }),
  );
}

function fromSteps(steps: readonly Step[]): Read[] {
  return steps.flatMap((s) => (s.kind === 'data' ? [{ toServer: s.dir === 'toServer', data: s.data, length: s.length }] : []));
}

const keepAlive = reads(Array.from({ length: EXCHANGES }, () => [[true, REQUEST], [false, RESPONSE]] as const).flat());
/** Requests per pipelined batch: within the default limit of 64 waiting. */
const BATCH = 50;
const pipelined = reads(
  Array.from({ length: EXCHANGES / BATCH }, () => [[true, REQUEST.repeat(BATCH)], [false, RESPONSE.repeat(BATCH)]] as const).flat(),
);
const chunkedBody = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${'400\r\n'.concat('x'.repeat(1024), '\r\n').repeat(8)}0\r\n\r\n`;
const chunked = reads(Array.from({ length: EXCHANGES / 10 }, () => [[true, REQUEST], [false, chunkedBody]] as const).flat());
const fixtures = FIXTURES.flatMap((name) => fromSteps(loadFixture(name).steps));

const CASES: readonly (readonly [string, readonly Read[]])[] = [
  [`${EXCHANGES} keep-alive GET exchanges of ${REQUEST.length + RESPONSE.length} B, one read per message`, keepAlive],
  [`${EXCHANGES} GET exchanges pipelined ${BATCH} per read`, pipelined],
  [`${EXCHANGES} keep-alive GET exchanges in 16-byte reads`, split(keepAlive, 16)],
  [`${EXCHANGES / 10} exchanges with 8 KiB chunked responses`, chunked],
  [`all ${FIXTURES.length} recorded fixtures`, fixtures],
];

/** Bytes and time of the measured runs, kept by the case itself: vitest's table gives runs per second only. */
const totals = new Map<string, { bytes: number; ns: number; runs: number; transactions: number }>();

function parseAll(input: readonly Read[]): number {
  const parser = new Http1Parser();
  let transactions = 0;
  for (const r of input) {
    parser.push(r.toServer ? 'toServer' : 'toClient', { data: r.data, length: r.length, tsFirst: 0, tsLast: 0 });
    transactions += parser.drain().transactions.length;
  }
  return transactions;
}

function report(name: string): void {
  const t = totals.get(name);
  if (t === undefined) return;
  const mbps = t.bytes / 1e6 / (t.ns / 1e9);
  const perTransaction = t.ns / t.runs / Math.max(1, t.transactions) / 1000;
  console.log(`${name}: ${mbps.toFixed(0)} MB/s of captured bytes, ${perTransaction.toFixed(2)} µs per transaction`);
}

describe('Http1Parser', () => {
  for (const [name, input] of CASES) {
    const captured = input.reduce((n, r) => n + r.data.length, 0);
    bench(
      `${name} (${(captured / 1024).toFixed(0)} KiB captured)`,
      () => {
        const start = process.hrtime.bigint();
        const transactions = parseAll(input);
        const ns = Number(process.hrtime.bigint() - start);
        const t = totals.get(name) ?? { bytes: 0, ns: 0, runs: 0, transactions };
        totals.set(name, { bytes: t.bytes + captured, ns: t.ns + ns, runs: t.runs + 1, transactions });
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
