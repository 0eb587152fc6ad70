/**
 * The HPACK Huffman code (RFC 7541 Appendix B) and its decoder.
 *
 * Decoding walks the code tree a byte at a time rather than a bit at a
 * time: a table built once at load maps (node reached so far, next byte) to
 * the node after it and the symbols the byte completes, so the loop does one
 * lookup and no branching per input byte.
 */
import { latin1 } from '../../http1/bytes.js';

/** The end-of-string symbol: never valid inside a string (RFC 7541 section 5.2). */
export const EOS = 256;

/** HUFFMAN_CODES[symbol]: the code of byte `symbol` (EOS at 256), right-aligned in HUFFMAN_LENGTHS[symbol] bits. */
export const HUFFMAN_CODES: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff,];

export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28,
  28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28,
  28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11,
  10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6,
  6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7,
  8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6,
  6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7,
  7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23,
  22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23,
  23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21,
  23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23,
  20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25,
  26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24,
  21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23,
  22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27,
  27, 28, 27, 27, 27, 27, 27, 26,
  30,];

export interface HuffmanError {
  readonly error: 'huffman';
  readonly reason: 'eos' | 'padding-too-long' | 'padding-not-ones';
}

const EOS_INSIDE: HuffmanError = Object.freeze({ error: 'huffman', reason: 'eos' });
const PADDING_TOO_LONG: HuffmanError = Object.freeze({ error: 'huffman', reason: 'padding-too-long' });
const PADDING_NOT_ONES: HuffmanError = Object.freeze({ error: 'huffman', reason: 'padding-not-ones' });

/** The shortest code: a string of n octets decodes to at most n * 8 / 5 bytes. */
const MIN_CODE_BITS = 5;

/**
 * Bytes of scratch a decode of `encodedLength` octets needs: the longest
 * output, plus one the loop may write past it (it stores two symbols per
 * byte unconditionally and then counts how many were real).
 */
export function huffmanScratchLength(encodedLength: number): number {
  return Math.floor((encodedLength * 8) / MIN_CODE_BITS) + 1;
}

/*
 * Decode table entry layout. The state is a node of the code tree: the 256
 * internal nodes (0 is the root) plus SINK, entered on EOS and never left, so
 * the loop needs no exit test and the error is seen once at the end.
 */
const STATE_MASK = 0x1ff;
const SINK = 256;
const SYMBOL1_SHIFT = 9;
const SYMBOL2_SHIFT = 17;
const COUNT_SHIFT = 25;
/** The bits since the last symbol are at most 7 ones: a valid place to end. */
const ACCEPT = 1 << 27;

interface CodeTree {
  /** child[node * 2 + bit]: an internal node below 256, or 256 + symbol for a leaf. */
  readonly child: Int16Array;
  /** The node's path from the root is all ones (the prefix of EOS), so it is padding if the string ends there. */
  readonly allOnes: Uint8Array;
  readonly depth: Uint8Array;
}

function buildTree(): CodeTree {
  const child = new Int16Array(512).fill(-1);
  const allOnes = new Uint8Array(257);
  const depth = new Uint8Array(257);
  allOnes[0] = 1;
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const length = HUFFMAN_LENGTHS[symbol]!;
    let node = 0;
    for (let i = length - 1; i >= 0; i--) {
      const bit = (code >>> i) & 1;
      const slot = node * 2 + bit;
      if (i === 0) {
        if (child[slot] !== -1) throw new Error(`Huffman table: code of ${symbol} is not prefix-free`);
        child[slot] = 256 + symbol;
        break;
      }
      if (child[slot] === -1) {
        if (nodes === 256) throw new Error('Huffman table: more than 256 internal nodes');
        allOnes[nodes] = allOnes[node]! & bit;
        depth[nodes] = depth[node]! + 1;
        child[slot] = nodes++;
      }
      node = child[slot]!;
      if (node >= 256) throw new Error(`Huffman table: code of ${symbol} extends another code`);
    }
  }
  if (child.includes(-1)) throw new Error('Huffman table: code is not complete');
  return { child, allOnes, depth };
}

function buildDecodeTable(tree: CodeTree): Uint32Array {
  const table = new Uint32Array(257 * 256);
  for (let state = 0; state < 256; state++) {
    for (let byte = 0; byte < 256; byte++) {
      let node = state;
      let count = 0;
      let symbols = 0;
      for (let bit = 7; bit >= 0 && node !== SINK; bit--) {
        const next = tree.child[node * 2 + ((byte >>> bit) & 1)]!;
        if (next < 256) node = next;
        else if (next - 256 === EOS) node = SINK;
        else {
          // Codes are 5 bits or more, so a byte ends at most two: the rest of one and one whole.
          symbols |= (next - 256) << (8 * count++);
          node = 0;
        }
      }
      const accept = node !== SINK && tree.allOnes[node] === 1 && tree.depth[node]! <= 7 ? ACCEPT : 0;
      table[(state << 8) | byte] = node | (symbols << SYMBOL1_SHIFT) | (count << COUNT_SHIFT) | accept;
    }
  }
  table.fill(SINK, SINK << 8);
  return table;
}

const TREE = buildTree();
const DECODE = buildDecodeTable(TREE);

/**
 * Decodes the Huffman-coded octets src[start, end) as latin1 (header values
 * are octets, so every byte maps to a character and nothing throws), or
 * returns why they are not a valid string: EOS inside it, or padding longer
 * than 7 bits or not all ones (RFC 7541 section 5.2).
 *
 * `scratch`, if at least huffmanScratchLength(end - start) long, is used
 * for the bytes instead of a new array.
 */
export function huffmanDecode(
  src: Uint8Array,
  start = 0,
  end = src.length,
  scratch?: Uint8Array,
): string | HuffmanError {
  const needed = huffmanScratchLength(end - start);
  const out = scratch !== undefined && scratch.length >= needed ? scratch : new Uint8Array(needed);
  let entry = ACCEPT;
  let n = 0;
  for (let i = start; i < end; i++) {
    entry = DECODE[((entry & STATE_MASK) << 8) | src[i]!]!;
    out[n] = entry >>> SYMBOL1_SHIFT;
    out[n + 1] = entry >>> SYMBOL2_SHIFT;
    n += (entry >>> COUNT_SHIFT) & 3;
  }
  if ((entry & ACCEPT) === 0) {
    const state = entry & STATE_MASK;
    if (state === SINK) return EOS_INSIDE;
    return TREE.allOnes[state] === 1 ? PADDING_TOO_LONG : PADDING_NOT_ONES;
  }
  return latin1(out, 0, n);
}
