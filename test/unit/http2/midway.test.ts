import { describe, expect, it } from 'vitest';
import { detectProtocol } from '../../../protocols/detect.js';
import { grpcMethod } from '../../../protocols/grpc/status.js';
import { Http2Parser } from '../../../protocols/http2/Http2Parser.js';
import { loadFixture, replay, seen, type ClientSeen, type Step } from '../http1/replay.js';

interface GrpcSeen {
  readonly call: string;
}

/** The steps from the n-th toServer read on: a connection joined midway. */
function joinAt(steps: readonly Step[], n: number): Step[] {
  let k = 0;
  const at = steps.findIndex((s) => s.kind === 'data' && s.dir === 'toServer' && k++ === n);
  return steps.slice(at);
}

describe('joining an HTTP/2 connection midway', () => {
  it('gRPC: never a wrong method or path; what the static table and literals give is recovered, the rest marked and counted', () => {
    const fx = loadFixture<GrpcSeen>('grpc-node', 'http2');
    const truth = new Set(fx.client.map((c) => c.call));
    let marked = 0;
    let recovered = 0;
    for (let n = 1; n < 8; n++) {
      const parser = new Http2Parser({ midway: true });
      const { transactions, errors } = replay(parser, joinAt(fx.steps, n));
      for (const t of transactions) {
        if (t.unrecovered?.includes('path')) {
          expect(t.target).toBe('');
          marked++;
        } else {
          expect(truth.has(grpcMethod(t.target)!.method)).toBe(true);
          recovered++;
        }
        if (!t.unrecovered?.includes('method')) expect(t.method).toBe('POST');
      }
      expect(errors.filter((e) => e.code === 'headers-unrecovered').length).toBe(transactions.filter((t) => t.unrecovered).length);
    }
    // Node's encoder (nghttp2) never indexes :path, so paths are read even midway.
    expect(recovered).toBeGreaterThan(0);
    void marked;
  });

  it('HTTP: requests after the join are either right or marked', () => {
    const fx = loadFixture('node-h2c', 'http2');
    const truth = new Set(fx.client.map((c: ClientSeen) => `${c.method} ${c.target}`));
    for (let n = 1; n < 6; n++) {
      const { transactions } = replay(new Http2Parser({ midway: true }), joinAt(fx.steps, n));
      expect(transactions.length).toBeGreaterThan(0);
      for (const t of transactions) {
        if (!t.unrecovered?.includes('path') && !t.unrecovered?.includes('method')) expect(truth.has(`${t.method} ${t.target}`)).toBe(true);
        if (!t.unrecovered?.includes('status')) expect(fx.client.map((c) => c.status)).toContain(seen(t).status);
      }
    }
  });

  it('detects frames of a running connection and which side sent them', () => {
    const fx = loadFixture<GrpcSeen>('grpc-node', 'http2');
    const later = joinAt(fx.steps, 3).find((s) => s.kind === 'data' && s.dir === 'toServer')!;
    expect(later.kind === 'data' && detectProtocol(later.data, true, true)).toMatchObject({ protocol: 'http2', sender: 'client', midway: true });
    // Without the midway allowance, frames with no preface are not HTTP.
    expect(later.kind === 'data' && detectProtocol(later.data, true, false)).toBe('no');
  });
});
