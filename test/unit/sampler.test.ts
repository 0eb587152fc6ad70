import { TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createSampler } from '../../collector/spans/sampler.js';

/** A trace id (then an 8-byte span id) whose last 7 bytes, its randomness, are `r` of 2^56. */
function idsWith(fraction: number): Uint8Array {
  const ids = new Uint8Array(24);
  let r = Math.floor(fraction * 2 ** 56);
  for (let i = 15; i >= 9; i--) {
    ids[i] = r % 256;
    r = Math.floor(r / 256);
  }
  return ids;
}

const keeps = (flags: number): boolean => (flags & TraceFlags.SAMPLED) !== 0;

describe('samplers', () => {
  it('always_on and always_off ignore the caller; the parent-based ones follow it', () => {
    const ids = idsWith(0.5);
    expect(keeps(createSampler({ name: 'always_on' }).flags(ids, 0, TraceFlags.NONE))).toBe(true);
    expect(keeps(createSampler({ name: 'always_off' }).flags(ids, 0, TraceFlags.SAMPLED))).toBe(false);
    expect(keeps(createSampler({ name: 'parentbased_always_off' }).flags(ids, 0, TraceFlags.SAMPLED))).toBe(true);
    expect(keeps(createSampler({ name: 'parentbased_always_off' }).flags(ids, 0, undefined))).toBe(false);
    expect(keeps(createSampler({ name: 'parentbased_always_on' }).flags(ids, 0, TraceFlags.NONE))).toBe(false);
    expect(keeps(createSampler({ name: 'parentbased_always_on' }).flags(ids, 0, undefined))).toBe(true);
  });

  it('traceidratio keeps the traces whose id randomness is under the ratio, the same answer every time', () => {
    const s = createSampler({ name: 'traceidratio', arg: 0.25 });
    expect(keeps(s.flags(idsWith(0.2499), 0, undefined))).toBe(true);
    expect(keeps(s.flags(idsWith(0.2501), 0, undefined))).toBe(false);
    expect(keeps(s.flags(idsWith(0.2501), 0, TraceFlags.SAMPLED))).toBe(false);
    let kept = 0;
    for (let i = 0; i < 10_000; i++) if (keeps(s.flags(idsWith((i * 7919) % 10_000 / 10_000), 0, undefined))) kept++;
    expect(kept).toBe(2500);
    const parentBased = createSampler({ name: 'parentbased_traceidratio', arg: 0 });
    expect(keeps(parentBased.flags(idsWith(0.1), 0, TraceFlags.SAMPLED))).toBe(true);
    expect(keeps(parentBased.flags(idsWith(0.1), 0, undefined))).toBe(false);
  });
});
