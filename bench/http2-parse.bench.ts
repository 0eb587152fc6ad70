/**
 * HTTP/2 and gRPC parse throughput: `npx vitest bench --run bench/http2-parse.bench.ts`.
 * Each run replays a recorded connection (test/fixtures/http2) through a
 * fresh parser, preface and cold HPACK tables included. Case names give the
 * captured frame bytes and header blocks per connection: multiply by hz for
 * MB/s and header blocks/s.
 */
import { bench, describe } from 'vitest';
import { Http2Parser } from '../protocols/http2/Http2Parser.js';
import { loadFixture, type Step } from '../test/unit/http1/replay.js';

function measure(name: string) {
  const steps: readonly Step[] = loadFixture(name, 'http2').steps;
  let bytes = 0;
  let blocks = 0;
  for (const s of steps) {
    if (s.kind !== 'data') continue;
    bytes += s.data.length;
    // Header blocks: HEADERS frames (type 1) whose header lies in the captured bytes of a read.
    for (let p = s.dir === 'toServer' && s.data[0] === 0x50 ? 24 : 0; p + 9 <= s.data.length; p += 9 + ((s.data[p]! << 16) | (s.data[p + 1]! << 8) | s.data[p + 2]!)) {
      if (s.data[p + 3] === 1) blocks++;
    }
  }
  const run = (): void => {
    const parser = new Http2Parser();
    for (const s of steps) {
      if (s.kind === 'end') parser.end(s.dir, s.ts);
      else parser.push(s.dir, { data: s.data, length: s.length, tsFirst: s.ts, tsLast: s.ts });
      parser.drain();
    }
  };
  return { run, label: `${name}: ${bytes} bytes, ${blocks} header blocks per connection` };
}


describe('HTTP/2 parse', () => {
  for (const name of ['grpc-node', 'node-h2c']) {
    const { run, label } = measure(name);
    bench(label, run, { time: 2000 });
  }
});
