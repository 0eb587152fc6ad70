/**
 * The benchmark's "where Sonde's CPU goes" table: samples are charged to
 * the part of Sonde owning the nearest frame, builtins to their caller,
 * idle time to nobody. A small profile written out by hand, in the shape
 * V8's Profiler.stop returns.
 */
import { describe, expect, it } from 'vitest';
import { breakdown, type CpuProfile } from '../../bench/lib/profileBreakdown.js';

const D = '/work/main/dist';
const frame = (functionName: string, url = '') => ({ functionName, url });

const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 3, 4, 5, 8] },
    { id: 2, callFrame: frame('(idle)') },
    { id: 3, callFrame: frame('(garbage collector)') },
    { id: 4, callFrame: frame('onData', `file://${D}/protocols/http1/Http1Parser.js`), children: [6] },
    { id: 5, callFrame: frame('add', `file://${D}/collector/export/otlpEncoder.js`), children: [7] },
    { id: 6, callFrame: frame('toString', 'node:buffer') },
    { id: 7, callFrame: frame('write', 'node:buffer') },
    { id: 8, callFrame: frame('processTimers', 'node:internal/timers') },
  ],
  // 100 µs each: idle x4, GC x1, parser x2 (one in a builtin it called), encoder x2, timers x1.
  samples: [2, 2, 2, 2, 3, 4, 6, 5, 7, 8],
  timeDeltas: [100, 100, 100, 100, 100, 100, 100, 100, 100, 100],
};

describe('profile breakdown', () => {
  it('charges builtins to their caller, ignores idle time, and the shares add up to one', () => {
    const parts = Object.fromEntries(breakdown(profile).map((p) => [p.part, p.share]));
    expect(parts['HTTP/1 parsing']).toBeCloseTo(2 / 6);
    expect(parts['OTLP encoding']).toBeCloseTo(2 / 6);
    expect(parts['garbage collection (main thread)']).toBeCloseTo(1 / 6);
    expect(parts['Node.js runtime (event loop, timers, I/O)']).toBeCloseTo(1 / 6);
    expect(Object.values(parts).reduce((a, b) => a + b, 0)).toBeCloseTo(1);
  });
});
