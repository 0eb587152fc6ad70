/**
 * Hostile and broken header blocks: the decoder never throws, always
 * returns a result, and reports the RFC 7541 decoding errors by name.
 */
import { describe, expect, it } from 'vitest';
import { HpackDecoder, type HpackResult } from '../../protocols/http2/hpack/index.js';
import {
  block,
  C3_BLOCKS,
  C4_BLOCKS,
  C6_BLOCKS,
  hex,
  huffmanEncode,
  indexed,
  literal,
  prng,
  ReferenceEncoder,
  sizeUpdate,
} from './hpackHelpers.js';

const ERRORS = new Set(['truncated', 'bad-index', 'huffman', 'integer-overflow', 'string-too-long', 'table-size', 'header-list-too-large']);

/** A well-formed result: checked by hand, as expect() per field would dominate 20,000 blocks. */
function wellFormed(r: HpackResult): boolean {
  if (!r.ok) return ERRORS.has(r.error) && (r.detail === undefined || typeof r.detail === 'string');
  return (
    r.headers.every((h) => h.length === 2 && typeof h[0] === 'string' && typeof h[1] === 'string') &&
    r.unknown.every((u) => u.name === null || typeof u.name === 'string')
  );
}

function errorOf(r: HpackResult): string {
  return r.ok ? 'ok' : r.error;
}

/** A decoder that has seen the first `n` blocks of `series`. */
function after(series: readonly string[], n: number, maxTableSize = 4096): HpackDecoder {
  const d = new HpackDecoder({ maxTableSize });
  for (const b of series.slice(0, n)) expect(d.decode(hex(b)).ok).toBe(true);
  return d;
}

describe('random input', () => {
  it('20,000 random blocks: never throws, always a well-formed result', () => {
    const random = prng(20000);
    const seeds = [...C4_BLOCKS, ...C6_BLOCKS].map(hex);
    const longLived = new HpackDecoder();
    const midway = new HpackDecoder({ midway: true, maxTableSize: 256 });
    let ok = 0;
    for (let n = 0; n < 20000; n++) {
      let input: Uint8Array;
      if (n % 2 === 0) {
        input = Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
      } else {
        // Valid blocks with a few bytes changed reach deeper than noise.
        input = Uint8Array.from(seeds[n % seeds.length]!);
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips && input.length > 0; f++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
      for (const d of [new HpackDecoder(), longLived, midway]) {
        const r = d.decode(input);
        if (!wellFormed(r)) expect.unreachable(`block ${n}: ${JSON.stringify(r)}`);
        if (r.ok) ok++;
      }
      if (longLived.tableSize > 4096 || midway.tableSize > 256) expect.unreachable(`block ${n}: table over its size`);
    }
    // Some blocks must get past the first octet, or the test proves little.
    expect(ok).toBeGreaterThan(1000);
  });

  it('valid random blocks decode exactly, in one long-lived decoder', () => {
    const random = prng(42);
    const enc = new ReferenceEncoder(4096, 4096, random);
    const d = new HpackDecoder();
    for (let n = 0; n < 3000; n++) {
      const { block: b, headers } = enc.next();
      expect(d.decode(b)).toEqual({ ok: true, headers, unknown: [] });
      expect(d.tableEntries()).toEqual(enc.table);
      expect(d.tableSize).toBe(enc.size);
    }
  });
});

describe('truncation', () => {
  for (const [name, series, size] of [
    ['C.4', C4_BLOCKS, 4096],
    ['C.6', C6_BLOCKS, 256],
  ] as const) {
    it(`every truncation of the ${name} blocks is a prefix of the fields or 'truncated'`, () => {
      series.forEach((text, k) => {
        const full = after(series, k, size).decode(hex(text));
        if (!full.ok) expect.unreachable('full block fails');
        const bytes = hex(text);
        for (let cut = 0; cut < bytes.length; cut++) {
          const d = after(series, k, size);
          const r = d.decode(bytes.subarray(0, cut));
          if (r.ok) {
            expect(r.unknown).toEqual([]);
            expect(r.headers).toEqual(full.headers.slice(0, r.headers.length));
          } else {
            expect(r.error).toBe('truncated');
            expect(d.synced).toBe(false);
          }
        }
      });
    });
  }
});

describe('integers', () => {
  const d = (): HpackDecoder => new HpackDecoder();
  it('rejects an index past 2^28 as integer-overflow', () => {
    expect(errorOf(d().decode(hex('ff ffff ffff 0f')))).toBe('integer-overflow');
    expect(errorOf(d().decode(block(indexed(2 ** 28 + 1))))).toBe('integer-overflow');
    expect(errorOf(d().decode(block(indexed(2 ** 40))))).toBe('integer-overflow');
  });
  it('rejects endless zero continuation octets', () => {
    expect(errorOf(d().decode(hex('ff 8080 8080 8080 8080 00')))).toBe('integer-overflow');
    // Four are harmless: the value is 127, past the (empty) table.
    expect(errorOf(d().decode(hex('ff 8080 8080 00')))).toBe('bad-index');
  });
  it('takes 2^28 itself as a value', () => {
    expect(errorOf(d().decode(block(sizeUpdate(2 ** 28))))).toBe('table-size');
    expect(errorOf(d().decode(block(sizeUpdate(2 ** 28 + 1))))).toBe('integer-overflow');
  });
  it('rejects a string length past 2^28', () => {
    expect(errorOf(d().decode(hex('40 7f ffff ffff 0f')))).toBe('integer-overflow');
    expect(errorOf(d().decode(hex('41 ff ffff ffff 0f')))).toBe('integer-overflow');
  });
  it('reports an integer cut by the end of the block as truncated', () => {
    expect(errorOf(d().decode(hex('ff')))).toBe('truncated');
    expect(errorOf(d().decode(hex('ff 80')))).toBe('truncated');
    expect(errorOf(d().decode(hex('3f')))).toBe('truncated');
    expect(errorOf(d().decode(hex('41')))).toBe('truncated');
  });
});

describe('strings', () => {
  it('reports a length past the end of the block as truncated', () => {
    const d = new HpackDecoder();
    expect(errorOf(d.decode(hex('40 0a 61')))).toBe('truncated');
    expect(errorOf(new HpackDecoder().decode(hex('41 8a ff')))).toBe('truncated');
    // A new name of 2,097,278 octets.
    expect(errorOf(new HpackDecoder().decode(hex('00 7f ffff 7f 61')))).toBe('truncated');
  });
  it('rejects an invalid Huffman string', () => {
    expect(errorOf(new HpackDecoder().decode(hex('41 81 ff')))).toBe('huffman');
    const withEos = huffmanEncode([0x61, 256]);
    expect(errorOf(new HpackDecoder().decode(block([0x41, 0x80 | withEos.length], [...withEos])))).toBe('huffman');
  });
  it('rejects a string longer than the header list limit, raw or once decoded', () => {
    const raw = new HpackDecoder({ maxHeaderListSize: 100 });
    expect(errorOf(raw.decode(block(literal('without', 1, 'v'.repeat(200)))))).toBe('string-too-long');
    const huff = new HpackDecoder({ maxHeaderListSize: 100 });
    // 150 five-bit codes: 94 octets on the wire, 150 decoded.
    expect(errorOf(huff.decode(block(literal('without', 1, 'a'.repeat(150), true))))).toBe('string-too-long');
  });
});

describe('indexes', () => {
  it('rejects index 0', () => {
    expect(errorOf(new HpackDecoder().decode(hex('80')))).toBe('bad-index');
  });
  it('rejects indexes past the tables, and takes the last of each', () => {
    const d = new HpackDecoder();
    expect(d.decode(block(indexed(61)))).toEqual({ ok: true, headers: [['www-authenticate', '']], unknown: [] });
    expect(errorOf(d.decode(block(indexed(62))))).toBe('bad-index');
    const e = new HpackDecoder();
    expect(errorOf(e.decode(block(literal('without', 62, 'v'))))).toBe('bad-index');
    const f = after(C3_BLOCKS, 1);
    expect(f.decode(block(indexed(62)))).toEqual({ ok: true, headers: [[':authority', 'www.example.com']], unknown: [] });
    expect(errorOf(f.decode(block(indexed(63))))).toBe('bad-index');
    expect(errorOf(after(C3_BLOCKS, 1).decode(block(indexed(2 ** 28))))).toBe('bad-index');
  });
});

describe('dynamic table size updates', () => {
  it('rejects one above the maximum', () => {
    expect(errorOf(new HpackDecoder().decode(block(sizeUpdate(4097))))).toBe('table-size');
    expect(errorOf(new HpackDecoder({ maxTableSize: 256 }).decode(block(sizeUpdate(257))))).toBe('table-size');
  });
  it('rejects one after the first field', () => {
    expect(errorOf(new HpackDecoder().decode(block(indexed(2), sizeUpdate(100))))).toBe('table-size');
  });
  it('takes many at the start of a block', () => {
    const d = new HpackDecoder();
    const updates = Array.from({ length: 10000 }, (_, i) => sizeUpdate(i % 4097));
    expect(d.decode(block(...updates, indexed(2)))).toEqual({ ok: true, headers: [[':method', 'GET']], unknown: [] });
  });
  it('takes 0 then the maximum: the table is emptied, then fills again', () => {
    const d = after(C3_BLOCKS, 3);
    expect(d.decode(block(sizeUpdate(0), sizeUpdate(4096), literal('incremental', 'a', 'b')))).toEqual({
      ok: true,
      headers: [['a', 'b']],
      unknown: [],
    });
    expect(d.tableEntries()).toEqual([['a', 'b']]);
    expect(d.tableSize).toBe(34);
  });
  it('evicts down to a smaller size', () => {
    const d = after(C3_BLOCKS, 3);
    expect(d.decode(block(sizeUpdate(110))).ok).toBe(true);
    expect(d.tableEntries()).toEqual([
      ['custom-key', 'custom-value'],
      ['cache-control', 'no-cache'],
    ]);
    expect(d.tableSize).toBe(107);
  });
  it('follows a new SETTINGS_HEADER_TABLE_SIZE as the bound', () => {
    const d = new HpackDecoder();
    d.setMaxTableSize(100);
    expect(errorOf(d.decode(block(sizeUpdate(200))))).toBe('table-size');
    const e = new HpackDecoder();
    e.setMaxTableSize(100);
    expect(e.decode(block(sizeUpdate(100), literal('incremental', 'x', 'v'.repeat(80))))).toMatchObject({ ok: true });
    expect(e.tableEntries()).toEqual([]);
    e.setMaxTableSize(65536);
    expect(errorOf(e.decode(block(sizeUpdate(65536))))).toBe('ok');
  });
});

describe('header list size', () => {
  it('rejects a block decoding to more than maxHeaderListSize, but stays in step with the table', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 1000 });
    expect(d.decode(block(literal('incremental', 'x-big', 'v'.repeat(900)))).ok).toBe(true);
    // Two references to a 937-octet entry: two bytes for 1874 octets of header list.
    const r = d.decode(block(indexed(62), indexed(62), literal('incremental', 'x-after', 'y')));
    expect(r).toMatchObject({ ok: false, error: 'header-list-too-large' });
    expect(d.synced).toBe(true);
    expect(d.decode(block(indexed(62), indexed(63)))).toEqual({
      ok: true,
      headers: [
        ['x-after', 'y'],
        ['x-big', 'v'.repeat(900)],
      ],
      unknown: [],
    });
  });
  it('stops collecting at the limit: 60,000 references cost no 60,000 fields', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 64 * 1024 });
    expect(d.decode(block(literal('incremental', 'x-big', 'v'.repeat(4000)))).ok).toBe(true);
    const r = d.decode(new Uint8Array(60000).fill(0xbe));
    expect(r).toMatchObject({ ok: false, error: 'header-list-too-large' });
  });
});

describe('an entry larger than the table', () => {
  it('empties the table and is not an error (RFC 7541 section 4.4)', () => {
    const d = after(C3_BLOCKS, 3);
    const value = 'x'.repeat(5000);
    expect(d.decode(block(literal('incremental', 'big', value)))).toEqual({ ok: true, headers: [['big', value]], unknown: [] });
    expect(d.tableEntries()).toEqual([]);
    expect(d.tableSize).toBe(0);
    expect(d.synced).toBe(true);
    expect(errorOf(d.decode(block(indexed(62))))).toBe('bad-index');
  });
  it('empties a 256-octet table at 257 octets, not at 256', () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    // 1 + 223 + 32 = 256: fits exactly.
    expect(d.decode(block(literal('incremental', 'a', 'v'.repeat(223)))).ok).toBe(true);
    expect(d.tableSize).toBe(256);
    expect(d.decode(block(literal('incremental', 'a', 'v'.repeat(224)))).ok).toBe(true);
    expect(d.tableEntries()).toEqual([]);
  });
});
