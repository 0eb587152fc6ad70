import { describe, expect, it } from 'vitest';
import { HandleCache } from '../../collector/ebpf/handleCache.js';

const u64 = (...values: bigint[]): DataView => {
  const v = new DataView(new ArrayBuffer(8 * values.length));
  values.forEach((x, i) => v.setBigUint64(8 * i, x, true));
  return v;
};

describe('HandleCache', () => {
  it('reads what getBigUint64 reads, for values sharing a slot and values that do not', () => {
    const values = [0n, 1n, 0xffff888102345640n, 0xffff888102345680n, 0xffff888102345640n + (1n << 32n), 2n ** 64n - 1n, 0n];
    const view = u64(...values);
    const cache = new HandleCache();
    for (let round = 0; round < 3; round++) {
      values.forEach((x, i) => expect(cache.read(view, 8 * i)).toBe(x));
    }
  });

  it('gives the right value after a colliding one took the slot', () => {
    // 512 slots, low 6 bits ignored: lo differing by 512 << 6 collide.
    const a = 0xffff888100000000n;
    const b = a + (512n << 6n);
    const view = u64(a, b);
    const cache = new HandleCache();
    expect(cache.read(view, 0)).toBe(a);
    expect(cache.read(view, 8)).toBe(b);
    expect(cache.read(view, 0)).toBe(a);
  });
});
