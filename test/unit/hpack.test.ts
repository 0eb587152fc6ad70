/**
 * HPACK decoding against RFC 7541 Appendix C, and the Huffman code of
 * Appendix B round-tripped through a test-only encoder.
 */
import { describe, expect, it } from 'vitest';
import {
  EOS,
  HpackDecoder,
  HUFFMAN_CODES,
  HUFFMAN_LENGTHS,
  huffmanDecode,
  STATIC_TABLE,
  type HeaderField,
} from '../../protocols/http2/hpack/index.js';
import { bytesOf, C3_BLOCKS, C4_BLOCKS, C5_BLOCKS, C6_BLOCKS, hex, huffmanEncode, prng } from './hpackHelpers.js';

interface Step {
  readonly block: string;
  readonly headers: readonly HeaderField[];
  /** Newest first. */
  readonly table: readonly HeaderField[];
  readonly size: number;
}

function decodeSeries(maxTableSize: number, steps: readonly Step[]): void {
  const d = new HpackDecoder({ maxTableSize });
  for (const step of steps) {
    const r = d.decode(hex(step.block));
    expect(r).toEqual({ ok: true, headers: step.headers, unknown: [] });
    expect(d.tableEntries()).toEqual(step.table);
    expect(d.tableSize).toBe(step.size);
    expect(d.synced).toBe(true);
  }
}

describe('RFC 7541 C.2: header field representations', () => {
  const cases: readonly [string, string, HeaderField, readonly HeaderField[], number][] = [
    [
      'C.2.1 literal with indexing',
      '400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572',
      ['custom-key', 'custom-header'],
      [['custom-key', 'custom-header']],
      55,
    ],
    ['C.2.2 literal without indexing', '040c 2f73 616d 706c 652f 7061 7468', [':path', '/sample/path'], [], 0],
    ['C.2.3 literal never indexed', '1008 7061 7373 776f 7264 0673 6563 7265 74', ['password', 'secret'], [], 0],
    ['C.2.4 indexed', '82', [':method', 'GET'], [], 0],
  ];
  for (const [name, block, field, table, size] of cases) {
    it(name, () => decodeSeries(4096, [{ block, headers: [field], table, size }]));
  }
});

const REQUEST_1: readonly HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
];
const REQUEST_2: readonly HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'http'],
  [':path', '/'],
  [':authority', 'www.example.com'],
  ['cache-control', 'no-cache'],
];
const REQUEST_3: readonly HeaderField[] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const REQUEST_TABLES: readonly (readonly HeaderField[])[] = [
  [[':authority', 'www.example.com']],
  [
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
  [
    ['custom-key', 'custom-value'],
    ['cache-control', 'no-cache'],
    [':authority', 'www.example.com'],
  ],
];

function requestSteps(blocks: readonly string[]): Step[] {
  return [REQUEST_1, REQUEST_2, REQUEST_3].map((headers, i) => ({
    block: blocks[i]!,
    headers,
    table: REQUEST_TABLES[i]!,
    size: [57, 110, 164][i]!,
  }));
}

describe('RFC 7541 C.3 and C.4: requests on one connection', () => {
  it('C.3 without Huffman coding', () => decodeSeries(4096, requestSteps(C3_BLOCKS)));
  it('C.4 with Huffman coding', () => decodeSeries(4096, requestSteps(C4_BLOCKS)));
});

const DATE_21 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE_22 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const LOCATION = 'https://www.example.com';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';

function responseSteps(blocks: readonly string[]): Step[] {
  return [
    {
      block: blocks[0]!,
      headers: [
        [':status', '302'],
        ['cache-control', 'private'],
        ['date', DATE_21],
        ['location', LOCATION],
      ],
      table: [
        ['location', LOCATION],
        ['date', DATE_21],
        ['cache-control', 'private'],
        [':status', '302'],
      ],
      size: 222,
    },
    {
      block: blocks[1]!,
      headers: [
        [':status', '307'],
        ['cache-control', 'private'],
        ['date', DATE_21],
        ['location', LOCATION],
      ],
      table: [
        [':status', '307'],
        ['location', LOCATION],
        ['date', DATE_21],
        ['cache-control', 'private'],
      ],
      size: 222,
    },
    {
      block: blocks[2]!,
      headers: [
        [':status', '200'],
        ['cache-control', 'private'],
        ['date', DATE_22],
        ['location', LOCATION],
        ['content-encoding', 'gzip'],
        ['set-cookie', COOKIE],
      ],
      table: [
        ['set-cookie', COOKIE],
        ['content-encoding', 'gzip'],
        ['date', DATE_22],
      ],
      size: 215,
    },
  ];
}

describe('RFC 7541 C.5 and C.6: responses with eviction (table size 256)', () => {
  it('C.5 without Huffman coding', () => decodeSeries(256, responseSteps(C5_BLOCKS)));
  it('C.6 with Huffman coding', () => decodeSeries(256, responseSteps(C6_BLOCKS)));
});

describe('static table', () => {
  it('has the 61 entries of Appendix A', () => {
    expect(STATIC_TABLE).toHaveLength(61);
    expect(STATIC_TABLE[0]).toEqual([':authority', '']);
    expect(STATIC_TABLE[15]).toEqual(['accept-encoding', 'gzip, deflate']);
    expect(STATIC_TABLE[60]).toEqual(['www-authenticate', '']);
  });
});

/** Strings of Appendix C and their Huffman codes. */
const HUFFMAN_VECTORS: readonly [string, string][] = [
  ['www.example.com', 'f1e3 c2e5 f23a 6ba0 ab90 f4ff'],
  ['no-cache', 'a8eb 1064 9cbf'],
  ['custom-key', '25a8 49e9 5ba9 7d7f'],
  ['custom-value', '25a8 49e9 5bb8 e8b4 bf'],
  ['302', '6402'],
  ['307', '640e ff'],
  ['private', 'aec3 771a 4b'],
  [DATE_21, 'd07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff'],
  [DATE_22, 'd07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff'],
  [LOCATION, '9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3'],
  ['gzip', '9bd9 ab'],
  [
    COOKIE,
    '94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07',
  ],
];

describe('Huffman code', () => {
  it('is a complete prefix code of 257 symbols, EOS the 30 ones', () => {
    expect(HUFFMAN_CODES).toHaveLength(257);
    expect(HUFFMAN_LENGTHS).toHaveLength(257);
    expect(HUFFMAN_CODES[EOS]).toBe(0x3fffffff);
    expect(HUFFMAN_LENGTHS[EOS]).toBe(30);
    // Kraft sum of exactly 1: no code missing, none overlapping.
    const kraft = HUFFMAN_LENGTHS.reduce((sum, len) => sum + 2 ** (30 - len), 0);
    expect(kraft).toBe(2 ** 30);
  });

  it('decodes, and the test encoder reproduces, the strings of Appendix C', () => {
    for (const [text, code] of HUFFMAN_VECTORS) {
      expect(huffmanDecode(hex(code))).toBe(text);
      expect(Buffer.from(huffmanEncode(text)).toString('hex')).toBe(code.replace(/ /g, ''));
    }
  });

  it('round-trips every byte value, alone and together', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    for (const b of all) expect(huffmanDecode(huffmanEncode([b]))).toBe(String.fromCharCode(b));
    expect(huffmanDecode(huffmanEncode(all))).toBe(Buffer.from(all).toString('latin1'));
    expect(huffmanDecode(huffmanEncode([]))).toBe('');
  });

  it('round-trips 5,000 random strings', () => {
    const random = prng(7541);
    for (let n = 0; n < 5000; n++) {
      const length = Math.floor(random() * (n % 10 === 0 ? 2000 : 80));
      const ascii = random() < 0.7;
      const input = Uint8Array.from({ length }, () => Math.floor(random() * (ascii ? 128 : 256)));
      const encoded = huffmanEncode(input);
      expect(huffmanDecode(encoded)).toBe(Buffer.from(input).toString('latin1'));
      // A slice of a larger buffer decodes the same, with or without scratch.
      const framed = Uint8Array.from([0xaa, ...encoded, 0x55]);
      const scratch = new Uint8Array(8192);
      expect(huffmanDecode(framed, 1, framed.length - 1, scratch)).toBe(Buffer.from(input).toString('latin1'));
    }
  });

  it('rejects EOS inside a string', () => {
    const eos = { error: 'huffman', reason: 'eos' };
    expect(huffmanDecode(huffmanEncode([0x61, EOS, 0x62]))).toEqual(eos);
    expect(huffmanDecode(huffmanEncode([EOS]))).toEqual(eos);
    expect(huffmanDecode(hex('ffff ffff'))).toEqual(eos);
    expect(huffmanDecode(huffmanEncode([...bytesOf('grpc-status'), EOS]))).toEqual(eos);
  });

  it('rejects padding longer than 7 bits', () => {
    const tooLong = { error: 'huffman', reason: 'padding-too-long' };
    expect(huffmanDecode(hex('ff'))).toEqual(tooLong);
    // 'a' is 00011: then 11 ones.
    expect(huffmanDecode(hex('1fff'))).toEqual(tooLong);
    expect(huffmanDecode(Uint8Array.from([...huffmanEncode('no-cache'), 0xff]))).toEqual(tooLong);
  });

  it('rejects padding that is not all ones', () => {
    const notOnes = { error: 'huffman', reason: 'padding-not-ones' };
    // 'a' then 000.
    expect(huffmanDecode(hex('18'))).toEqual(notOnes);
    // A code cut short: 11111110 is the start of longer codes.
    expect(huffmanDecode(hex('fe'))).toEqual(notOnes);
    const good = huffmanEncode('private');
    const last = good.length - 1;
    good[last] = good[last]! & 0xfe;
    expect(huffmanDecode(good)).toEqual(notOnes);
  });

  it('decodes octets above 0x7f as latin1 characters', () => {
    expect(huffmanDecode(huffmanEncode([0xe9, 0xff, 0x00]))).toBe('\u00e9\u00ff\u0000');
  });
});
