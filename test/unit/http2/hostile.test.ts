import { describe, expect, it } from 'vitest';
import { Http2Parser } from '../../../protocols/http2/Http2Parser.js';
import type { FlowDirection } from '../../../protocols/types.js';
import { loadFixture, prng, replay, type Step } from '../http1/replay.js';
import { block, CLIENT_PREFACE, concat, frame, indexed, literal, settings } from './frames.js';

const HEADERS = 0x1;
const CONTINUATION = 0x9;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

const push = (p: Http2Parser, dir: FlowDirection, data: Uint8Array, ts = 1): void => p.push(dir, { data, length: data.length, tsFirst: ts, tsLast: ts });

function request(id: number, path: string): Uint8Array {
  return frame(HEADERS, END_HEADERS | END_STREAM, id, block(indexed(2), indexed(6), literal(':path', path), literal(':authority', 'x')));
}

describe('HTTP/2 parser against hostile bytes', () => {
  it('random bytes, with or without a preface, never throw and keep nothing unbounded', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = prng(seed);
      for (const midway of [false, true]) {
        const p = new Http2Parser({ midway });
        if (!midway) push(p, 'toServer', CLIENT_PREFACE);
        for (let i = 0; i < 20; i++) {
          const data = new Uint8Array(1 + Math.floor(random() * 300)).map(() => Math.floor(random() * 256));
          const dir = random() < 0.5 ? 'toServer' : 'toClient';
          expect(() => push(p, dir, data)).not.toThrow();
        }
        expect(() => p.drain()).not.toThrow();
        expect(p.pending).toBeLessThanOrEqual(1000);
      }
    }
  });

  it('a recorded gRPC connection with flipped, cut and truncated bytes never throws', () => {
    const fx = loadFixture('grpc-node', 'http2');
    for (let seed = 1; seed <= 200; seed++) {
      const random = prng(seed);
      const steps: Step[] = fx.steps.map((s) => {
        if (s.kind !== 'data') return s;
        const data = s.data.slice();
        const mode = random();
        if (mode < 0.3) for (let k = 0; k < 3; k++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256);
        else if (mode < 0.5) return { ...s, data: data.subarray(0, Math.floor(random() * data.length)) };
        return { ...s, data };
      });
      expect(() => replay(new Http2Parser(), steps)).not.toThrow();
    }
  });

  it('a frame longer than SETTINGS_MAX_FRAME_SIZE allows is an error, not a buffer', () => {
    const p = new Http2Parser();
    push(p, 'toServer', concat(CLIENT_PREFACE, settings()));
    const huge = new Uint8Array(9);
    huge.set([0xff, 0xff, 0xff, HEADERS, END_HEADERS, 0, 0, 0, 1]);
    push(p, 'toServer', huge);
    expect(p.drain().errors.map((e) => e.code)).toContain('bad-frame-header');
  });

  it('streams past the limit drop the oldest and say so', () => {
    const p = new Http2Parser({ limits: { maxStreams: 100 } });
    push(p, 'toServer', concat(CLIENT_PREFACE, settings()));
    for (let id = 1; id < 2 * 300; id += 2) push(p, 'toServer', request(id, `/s${id}`));
    expect(p.pending).toBe(100);
    expect(p.stats.droppedStreams).toBe(200);
    expect(p.drain().errors.filter((e) => e.code === 'stream-overflow')).toHaveLength(200);
  });

  it('an endless CONTINUATION run is not kept past the header block limit', () => {
    const p = new Http2Parser({ limits: { maxHeaderBlock: 4096 } });
    push(p, 'toServer', concat(CLIENT_PREFACE, settings(), frame(HEADERS, 0, 1, block(indexed(2)))));
    const piece = frame(CONTINUATION, 0, 1, new Uint8Array(1000));
    for (let i = 0; i < 100; i++) push(p, 'toServer', piece);
    push(p, 'toServer', frame(CONTINUATION, END_HEADERS, 1, new Uint8Array(0)));
    expect(p.stats.lostHeaderBlocks).toBe(1);
    // The stream is known but nothing of its head: marked, not guessed.
    push(p, 'toClient', concat(settings(), frame(HEADERS, END_HEADERS | END_STREAM, 1, block(indexed(8)))));
    const [t] = p.drain().transactions;
    expect(t?.unrecovered).toEqual(expect.arrayContaining(['method', 'path']));
    expect(t?.status).toBe(200);
  });

  it('a CONTINUATION for another stream, or none at all, loses that block only', () => {
    const p = new Http2Parser();
    push(p, 'toServer', concat(CLIENT_PREFACE, settings(), frame(HEADERS, 0, 1, block(indexed(2))), frame(CONTINUATION, END_HEADERS, 3, new Uint8Array(0))));
    push(p, 'toServer', frame(CONTINUATION, END_HEADERS, 5, new Uint8Array(0)));
    const codes = p.drain().errors.map((e) => e.code);
    expect(codes).toContain('unexpected-continuation');
  });

  it('a response on a stream never requested, and a RST_STREAM for one, are ignored', () => {
    const p = new Http2Parser();
    push(p, 'toServer', concat(CLIENT_PREFACE, settings()));
    push(p, 'toClient', concat(settings(), frame(HEADERS, END_HEADERS | END_STREAM, 7, block(indexed(8))), frame(0x3, 0, 9, [0, 0, 0, 8])));
    expect(p.drain().transactions).toEqual([]);
    expect(p.pending).toBe(0);
  });
});
