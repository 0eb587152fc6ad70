/**
 * Test-only HPACK material: the blocks of RFC 7541 Appendix C, a Huffman
 * encoder from the decoder's own code table, representation builders, and
 * a reference encoder with an exact dynamic table to compare decoders with.
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS, STATIC_TABLE, type HeaderField } from '../../protocols/http2/hpack/index.js';

/* RFC 7541 Appendix C: C.3 and C.4 are requests (table size 4096), C.5 and C.6 responses (256). */
export const C3_BLOCKS = [
  '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '8286 84be 5808 6e6f 2d63 6163 6865',
  '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
];

export const C4_BLOCKS = [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
];

export const C5_BLOCKS = [
  `4803 3330 3258 0770 7269 7661 7465 611d
   4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768
   7474 7073 3a2f 2f77 7777 2e65 7861 6d70
   6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
   3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153
   444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61
   6765 3d33 3630 303b 2076 6572 7369 6f6e
   3d31`,
];

export const C6_BLOCKS = [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe
   9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
   e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595
   040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
   3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
];

export function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
}

export function bytesOf(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s, 'latin1'));
}

/** Huffman-codes `symbols` (byte values, or 256 for EOS), padding the last octet with ones. */
export function huffmanEncode(input: string | Uint8Array | readonly number[]): Uint8Array {
  const symbols = typeof input === 'string' ? bytesOf(input) : input;
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const sym of symbols) {
    const code = HUFFMAN_CODES[sym]!;
    for (let i = HUFFMAN_LENGTHS[sym]! - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push(((acc << (8 - bits)) | (0xff >> bits)) & 0xff);
  return Uint8Array.from(out);
}

/** A prefix integer (RFC 7541 section 5.1) with `flags` in the bits above the prefix. */
export function int(prefixBits: number, flags: number, value: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [flags | value];
  const out = [flags | max];
  let rest = value - max;
  while (rest >= 128) {
    out.push((rest % 128) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return out;
}

export function str(s: string, huffman = false): number[] {
  const body = huffman ? huffmanEncode(s) : bytesOf(s);
  return [...int(7, huffman ? 0x80 : 0, body.length), ...body];
}

export const indexed = (i: number): number[] => int(7, 0x80, i);
export const sizeUpdate = (n: number): number[] => int(5, 0x20, n);

export type LiteralKind = 'incremental' | 'without' | 'never';

/** A literal field; `name` is an index or a literal name. */
export function literal(kind: LiteralKind, name: number | string, value: string, huffman = false): number[] {
  const [bits, flags] = kind === 'incremental' ? [6, 0x40] : kind === 'without' ? [4, 0x00] : [4, 0x10];
  const head = typeof name === 'number' ? int(bits, flags, name) : [flags, ...str(name, huffman)];
  return [...head, ...str(value, huffman)];
}

export function block(...parts: number[][]): Uint8Array {
  return Uint8Array.from(parts.flat());
}

/** A seeded PRNG (mulberry32): the same inputs on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * An encoder with an exact dynamic table, making random but valid blocks:
 * the truth decoders are compared against.
 */
export class ReferenceEncoder {
  /** Newest first. */
  table: HeaderField[] = [];
  size = 0;

  constructor(
    private maxSize: number,
    private readonly limit: number,
    private readonly random: () => number,
  ) {}

  /** A random block and the header list it encodes. */
  next(): { block: Uint8Array; headers: HeaderField[] } {
    const parts: number[][] = [];
    const headers: HeaderField[] = [];
    const r = this.random;
    if (r() < 0.08) {
      // Sometimes two updates, as an encoder does to flush its table and set a new size.
      if (r() < 0.3) parts.push(sizeUpdate(this.resize(Math.floor(r() * 64))));
      parts.push(sizeUpdate(this.resize(Math.floor(r() * (this.limit + 1)))));
    }
    const fields = 1 + Math.floor(r() * 8);
    for (let f = 0; f < fields; f++) {
      const choice = r();
      if (choice < 0.2) {
        const i = 1 + Math.floor(r() * STATIC_TABLE.length);
        parts.push(indexed(i));
        headers.push(STATIC_TABLE[i - 1]!);
      } else if (choice < 0.45 && this.table.length > 0) {
        const i = 1 + Math.floor(r() * this.table.length);
        parts.push(indexed(STATIC_TABLE.length + i));
        headers.push(this.table[i - 1]!);
      } else {
        const kind: LiteralKind = r() < 0.6 ? 'incremental' : r() < 0.5 ? 'without' : 'never';
        const huffman = r() < 0.5;
        const value = this.randomString(r() < 0.05 ? 40 + Math.floor(r() * 300) : Math.floor(r() * 24));
        let nameRef: number | string;
        let name: string;
        const n = r();
        if (n < 0.3) {
          nameRef = 1 + Math.floor(r() * STATIC_TABLE.length);
          name = STATIC_TABLE[nameRef - 1]![0];
        } else if (n < 0.6 && this.table.length > 0) {
          const i = 1 + Math.floor(r() * this.table.length);
          nameRef = STATIC_TABLE.length + i;
          name = this.table[i - 1]![0];
        } else {
          name = `x-${this.randomString(1 + Math.floor(r() * 12)).toLowerCase()}`;
          nameRef = name;
        }
        parts.push(literal(kind, nameRef, value, huffman));
        const field: HeaderField = [name, value];
        headers.push(field);
        if (kind === 'incremental') this.insert(field);
      }
    }
    return { block: block(...parts), headers };
  }

  /**
   * Encodes `headers` as common encoders do: a full match in either table is
   * indexed, anything else a literal added to the table unless its name is in
   * `notIndexed`, Huffman-coded when that is shorter.
   */
  encode(headers: readonly HeaderField[], notIndexed: ReadonlySet<string> = new Set()): Uint8Array {
    const parts: number[][] = [];
    const all = (): HeaderField[] => [...STATIC_TABLE, ...this.table];
    for (const field of headers) {
      const [name, value] = field;
      const exact = all().findIndex((e) => e[0] === name && e[1] === value);
      if (exact >= 0 && !notIndexed.has(name)) {
        parts.push(indexed(exact + 1));
        continue;
      }
      const named = all().findIndex((e) => e[0] === name);
      const huffman = huffmanEncode(value).length < value.length;
      const kind: LiteralKind = notIndexed.has(name) ? 'without' : 'incremental';
      parts.push(literal(kind, named >= 0 ? named + 1 : name, value, huffman));
      if (kind === 'incremental') this.insert(field);
    }
    return block(...parts);
  }

  private randomString(length: number): string {
    let s = '';
    for (let i = 0; i < length; i++) {
      const c = this.random() < 0.9 ? 0x20 + Math.floor(this.random() * 95) : Math.floor(this.random() * 256);
      s += String.fromCharCode(c);
    }
    return s;
  }

  private resize(n: number): number {
    this.maxSize = n;
    this.evict();
    return n;
  }

  private insert(field: HeaderField): void {
    const size = field[0].length + field[1].length + 32;
    if (size > this.maxSize) {
      this.table = [];
      this.size = 0;
      return;
    }
    this.table.unshift(field);
    this.size += size;
    this.evict();
  }

  private evict(): void {
    while (this.size > this.maxSize) {
      const gone = this.table.pop()!;
      this.size -= gone[0].length + gone[1].length + 32;
    }
  }
}
