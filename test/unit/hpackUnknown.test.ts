/**
 * Decoding with a dynamic table only partly known: joined midway, a block
 * lost, or a block that failed. References into the part never seen come
 * back as UnknownField; nothing comes back wrong.
 */
import { describe, expect, it } from 'vitest';
import { HpackDecoder, type HeaderField, type HpackResult } from '../../protocols/http2/hpack/index.js';
import { block, C3_BLOCKS, hex, indexed, literal, prng, ReferenceEncoder, sizeUpdate } from './hpackHelpers.js';

const UNKNOWN = { name: null };

/** A literal with incremental indexing whose entry takes `size` octets. */
function entryOf(name: string, size: number): number[] {
  return literal('incremental', name, 'v'.repeat(size - name.length - 32));
}

describe('a lost block', () => {
  it('C.3.1, a lost C.3.2, then C.3.3: the reference into the lost part is unknown, the rest exact', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex(C3_BLOCKS[0]!)).ok).toBe(true);
    d.lostBlock();
    expect(d.synced).toBe(false);
    expect(d.tableEntries()).toEqual([]);
    // bf is dynamic index 2: ':authority' to the sender, after the entry the lost block added.
    expect(d.decode(hex(C3_BLOCKS[2]!))).toEqual({
      ok: true,
      headers: [
        [':method', 'GET'],
        [':scheme', 'https'],
        [':path', '/index.html'],
        ['custom-key', 'custom-value'],
      ],
      unknown: [UNKNOWN],
    });
    expect(d.tableEntries()).toEqual([['custom-key', 'custom-value']]);
    expect(d.tableSize).toBe(54);
    expect(d.synced).toBe(false);
  });

  it('a failed block counts as lost', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex(C3_BLOCKS[0]!)).ok).toBe(true);
    expect(d.decode(hex('4188 f1e3')).ok).toBe(false);
    expect(d.synced).toBe(false);
    const r = d.decode(hex(C3_BLOCKS[1]!));
    expect(r).toEqual({
      ok: true,
      headers: [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/'],
        ['cache-control', 'no-cache'],
      ],
      unknown: [UNKNOWN],
    });
  });
});

describe('joined midway', () => {
  it('C.3.2 alone: dynamic index 62, inserted by the unseen C.3.1, is unknown', () => {
    const d = new HpackDecoder({ midway: true });
    expect(d.synced).toBe(false);
    expect(d.decode(hex(C3_BLOCKS[1]!))).toEqual({
      ok: true,
      headers: [
        [':method', 'GET'],
        [':scheme', 'http'],
        [':path', '/'],
        ['cache-control', 'no-cache'],
      ],
      unknown: [UNKNOWN],
    });
    expect(d.tableEntries()).toEqual([['cache-control', 'no-cache']]);
    // Then C.3.3: index 63 is still the unseen entry, the literal exact.
    const r = d.decode(hex(C3_BLOCKS[2]!));
    expect(r).toMatchObject({ ok: true, unknown: [UNKNOWN] });
    expect(r.ok && r.headers).toContainEqual(['custom-key', 'custom-value']);
    expect(d.tableEntries()).toEqual([
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
    ]);
  });

  it('an index that cannot fit the table is still bad, unknown tail or not', () => {
    const d = new HpackDecoder({ midway: true, maxTableSize: 256 });
    // 256 octets hold at most 8 entries.
    expect(d.decode(block(indexed(61 + 8)))).toEqual({ ok: true, headers: [], unknown: [UNKNOWN] });
    expect(d.decode(block(indexed(61 + 9)))).toMatchObject({ ok: false, error: 'bad-index' });
  });

  it('a table of size 0 has no unseen entries', () => {
    expect(new HpackDecoder({ midway: true, maxTableSize: 0 }).synced).toBe(true);
  });
});

describe('recovery', () => {
  it('a size update to 0 empties the table: everything is known again', () => {
    const d = new HpackDecoder({ midway: true });
    expect(d.decode(block(entryOf('x-a', 100))).ok).toBe(true);
    expect(d.synced).toBe(false);
    expect(d.decode(block(sizeUpdate(0), sizeUpdate(4096), indexed(2)))).toEqual({
      ok: true,
      headers: [[':method', 'GET']],
      unknown: [],
    });
    expect(d.synced).toBe(true);
    expect(d.tableEntries()).toEqual([]);
    // Known exactly now: a reference past the table is an error, not an unknown.
    expect(d.decode(block(indexed(62)))).toMatchObject({ ok: false, error: 'bad-index' });
  });

  it('a smaller size that leaves no room past the entries seen drops the unseen ones', () => {
    const d = new HpackDecoder({ midway: true });
    expect(d.decode(block(entryOf('x-a', 200))).ok).toBe(true);
    expect(d.decode(block(sizeUpdate(1000))).ok).toBe(true);
    expect(d.synced).toBe(false);
    expect(d.decode(block(sizeUpdate(231))).ok).toBe(true);
    expect(d.synced).toBe(true);
    expect(d.tableSize).toBe(200);
  });

  it('entries seen that fill the table push the unseen ones out', () => {
    const d = new HpackDecoder({ midway: true, maxTableSize: 256 });
    d.decode(block(entryOf('x-a', 100), entryOf('x-b', 100)));
    // 200 octets and room for 32 more: the tail may still hold an entry.
    expect(d.synced).toBe(false);
    expect(d.decode(block(indexed(62), indexed(63), indexed(64)))).toEqual({
      ok: true,
      headers: [
        ['x-b', 'v'.repeat(65)],
        ['x-a', 'v'.repeat(65)],
      ],
      unknown: [UNKNOWN],
    });
    d.decode(block(entryOf('x-c', 100)));
    expect(d.synced).toBe(true);
    expect(d.tableEntries().map((e) => e?.[0])).toEqual(['x-c', 'x-b']);
    expect(d.decode(block(indexed(64)))).toMatchObject({ ok: false, error: 'bad-index' });
  });

  it('entries totalling the size less than an entry drop the unseen ones at once', () => {
    const d = new HpackDecoder({ midway: true, maxTableSize: 256 });
    d.decode(block(entryOf('x-a', 120), entryOf('x-b', 120)));
    expect(d.synced).toBe(true);
    expect(d.tableSize).toBe(240);
  });
});

describe('an inserted entry whose name is unknown', () => {
  it('is kept as unknown, and makes the entries older than it unknown', () => {
    const d = new HpackDecoder({ midway: true });
    d.decode(block(literal('incremental', 'a', '1')));
    // Name index 63: past 'a', in the unseen part.
    const r = d.decode(block(literal('incremental', 63, 'value')));
    expect(r).toEqual({ ok: true, headers: [], unknown: [UNKNOWN] });
    // Its size is unknown, so 'a' may have been evicted by it.
    expect(d.tableEntries()).toEqual([null, null]);
    expect(d.decode(block(indexed(62), indexed(63)))).toEqual({ ok: true, headers: [], unknown: [UNKNOWN, UNKNOWN] });
    // Entries after it are exact.
    d.decode(block(literal('incremental', 'b', '2')));
    expect(d.decode(block(indexed(62), indexed(63)))).toEqual({ ok: true, headers: [['b', '2']], unknown: [UNKNOWN] });
    expect(d.tableSize).toBe(34);
  });

  it('is pushed out by known entries filling the table', () => {
    const d = new HpackDecoder({ midway: true });
    d.decode(block(literal('incremental', 63, 'value')));
    for (let i = 0; i < 41; i++) d.decode(block(entryOf(`x-${i}`, 100)));
    expect(d.synced).toBe(true);
    expect(d.tableEntries()).toHaveLength(40);
    expect(d.tableSize).toBe(4000);
  });

  it('empties the table when even its value does not fit', () => {
    const d = new HpackDecoder({ midway: true, maxTableSize: 256 });
    d.decode(block(literal('incremental', 'a', '1')));
    expect(d.decode(block(literal('incremental', 63, 'v'.repeat(300))))).toEqual({ ok: true, headers: [], unknown: [UNKNOWN] });
    expect(d.synced).toBe(true);
    expect(d.tableEntries()).toEqual([]);
  });
});

/**
 * Headers returned must be the true list with the unknown fields left out:
 * a subsequence of it, as many as it has with the unknown ones.
 */
function expectPartial(r: HpackResult, truth: readonly HeaderField[], label: string): void {
  if (!r.ok) expect.unreachable(`${label}: ${r.error} ${r.detail ?? ''}`);
  expect(r.headers.length + r.unknown.length, label).toBe(truth.length);
  let t = 0;
  for (const h of r.headers) {
    while (t < truth.length && (truth[t]![0] !== h[0] || truth[t]![1] !== h[1])) t++;
    if (t === truth.length) expect.unreachable(`${label}: ${JSON.stringify(h)} is not in the true list in order`);
    t++;
  }
}

/** The sender's table starts the decoder's (null standing for unknown), and all of it when synced. */
function expectTable(d: HpackDecoder, table: readonly HeaderField[], label: string): void {
  const ours = d.tableEntries();
  for (let i = 0; i < Math.min(ours.length, table.length); i++) {
    const e = ours[i];
    if (e !== null && e !== undefined && (e[0] !== table[i]![0] || e[1] !== table[i]![1])) {
      expect.unreachable(`${label}: entry ${i + 1} is ${JSON.stringify(e)}, sender has ${JSON.stringify(table[i])}`);
    }
  }
  if (d.synced) {
    expect(ours.length, label).toBeGreaterThanOrEqual(table.length);
    expect(ours.slice(0, table.length), label).toEqual(table);
  }
}

describe('never a wrong field', () => {
  for (const [seed, size] of [
    [1, 256],
    [2, 512],
    [3, 4096],
    [4, 256],
  ] as const) {
    it(`random valid blocks, seed ${seed}, table ${size}: lossy and late decoders agree with the truth`, () => {
      const random = prng(seed);
      const enc = new ReferenceEncoder(size, size, random);
      const truth = new HpackDecoder({ maxTableSize: size });
      const lossy = new HpackDecoder({ maxTableSize: size });
      const late = new HpackDecoder({ maxTableSize: size, midway: true });
      let unknown = 0;
      let resynced = 0;
      for (let n = 0; n < 4000; n++) {
        const { block: b, headers } = enc.next();
        expect(truth.decode(b)).toEqual({ ok: true, headers, unknown: [] });
        if (random() < 0.05) lossy.lostBlock();
        else {
          const wasSynced = lossy.synced;
          const r = lossy.decode(b);
          expectPartial(r, headers, `lossy block ${n}`);
          if (r.ok) unknown += r.unknown.length;
          if (!wasSynced && lossy.synced) resynced++;
          expectTable(lossy, enc.table, `lossy block ${n}`);
        }
        if (n >= 20) {
          expectPartial(late.decode(b), headers, `late block ${n}`);
          expectTable(late, enc.table, `late block ${n}`);
        }
      }
      // The run must exercise both the unknown and the recovery paths.
      expect(unknown).toBeGreaterThan(0);
      expect(resynced).toBeGreaterThan(0);
    });
  }
});
