/**
 * What the HPACK decoder returns: data, never exceptions, since hostile
 * bytes are ordinary input for a capture tool.
 */

export type HeaderField = readonly [name: string, value: string];

export type HpackErrorCode =
  | 'truncated'
  | 'bad-index'
  | 'huffman'
  | 'integer-overflow'
  | 'string-too-long'
  | 'table-size'
  | 'header-list-too-large';

/**
 * A field whose name and/or value could not be recovered: a reference into
 * the part of the dynamic table this decoder never saw.
 */
export interface UnknownField {
  /**
   * null: the name is unknown too. HpackDecoder always says null today: it
   * keeps a table entry either wholly known or not at all, and a literal's
   * value is useless without its name.
   */
  readonly name: string | null;
}

export type HpackResult =
  | { readonly ok: true; readonly headers: HeaderField[]; readonly unknown: readonly UnknownField[] }
  | { readonly ok: false; readonly error: HpackErrorCode; readonly detail?: string };
