export {
  DEFAULT_MAX_HEADER_LIST_SIZE,
  DEFAULT_MAX_TABLE_SIZE,
  HpackDecoder,
  TRACKED_TABLE_CAP,
  type HpackDecoderOptions,
} from './HpackDecoder.js';
export { EOS, HUFFMAN_CODES, HUFFMAN_LENGTHS, huffmanDecode, huffmanScratchLength, type HuffmanError } from './huffman.js';
export { STATIC_TABLE, STATIC_TABLE_LENGTH } from './staticTable.js';
export type { HeaderField, HpackErrorCode, HpackResult, UnknownField } from './types.js';
