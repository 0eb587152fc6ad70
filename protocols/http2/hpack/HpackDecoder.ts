/**
 * HPACK (RFC 7541) header block decoding for one direction of one HTTP/2
 * connection. Stateful, as the dynamic table is; pure otherwise.
 *
 * A passive capture may join a connection midway or lose a header block, so
 * the decoder also works with a dynamic table it only partly knows (see
 * DynamicTable): what it can recover it returns as headers, a field that
 * refers to what it never saw comes back as an UnknownField, and no field is
 * ever returned with a name or value the decoder is not sure of.
 */
import { BlockReader, integerError, type DecodeError } from './BlockReader.js';
import { DynamicTable, ENTRY_OVERHEAD } from './DynamicTable.js';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './staticTable.js';
import type { HeaderField, HpackResult, UnknownField } from './types.js';

export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE assumed advertised by the receiver, until setMaxTableSize says otherwise. */
  readonly maxTableSize?: number;
  /** A block whose fields total more (RFC 7540 section 6.5.2 sizes) is an error. */
  readonly maxHeaderListSize?: number;
  /** The connection ran before the first block seen: the dynamic table holds entries never seen. */
  readonly midway?: boolean;
}

export const DEFAULT_MAX_TABLE_SIZE = 4096;
export const DEFAULT_MAX_HEADER_LIST_SIZE = 64 * 1024;

/**
 * The table is tracked up to this size whatever the peer advertises, so a
 * connection's memory stays bounded. Past it entries are dropped early: a
 * reference to one is then a bad-index error, never a wrong field.
 */
export const TRACKED_TABLE_CAP = 1 << 20;

const UNKNOWN_NAME: UnknownField = Object.freeze({ name: null });
const NO_UNKNOWN: readonly UnknownField[] = Object.freeze([]);

/*
 * First-octet patterns of the representations (section 6). The rest, 0000
 * (without indexing) and 0001 (never indexed), differ only for re-encoders:
 * both leave the table alone.
 */
const INDEXED = 0x80;
const INCREMENTAL = 0x40;
const SIZE_UPDATE = 0x20;

export class HpackDecoder {
  private readonly table: DynamicTable;
  private readonly reader = new BlockReader();
  private readonly maxHeaderListSize: number;
  /** SETTINGS_HEADER_TABLE_SIZE: size updates above it are errors. */
  private setting: number;

  constructor(opts: HpackDecoderOptions = {}) {
    this.setting = opts.maxTableSize ?? DEFAULT_MAX_TABLE_SIZE;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    const tracked = Math.min(this.setting, TRACKED_TABLE_CAP);
    this.table = new DynamicTable(tracked, tracked, opts.midway === true);
  }

  /** False while the dynamic table may hold entries this decoder never saw. */
  get synced(): boolean {
    return this.table.synced;
  }

  /** Sum of the RFC 7541 sizes of the dynamic table entries known exactly. */
  get tableSize(): number {
    return this.table.knownSize;
  }

  /** The dynamic table as known, newest first: null for an entry whose field is unknown. For tests and debugging. */
  tableEntries(): ReadonlyArray<HeaderField | null> {
    return this.table.entries();
  }

  /** The receiver advertised a new SETTINGS_HEADER_TABLE_SIZE. */
  setMaxTableSize(n: number): void {
    this.setting = n;
    this.table.setLimit(Math.min(n, TRACKED_TABLE_CAP));
  }

  /** A header block of this direction was not seen: whatever it inserted is unknown. */
  lostBlock(): void {
    this.table.lose();
  }

  /**
   * Decodes one complete header block (HEADERS or PUSH_PROMISE fragment and
   * its CONTINUATIONs, joined). Never throws. On error the table may be
   * half updated, so the decoder treats the block as lost; except when the
   * only fault is the header list limit: the block is still applied in full
   * so the table stays in step, and only the fields are given up.
   */
  decode(block: Uint8Array): HpackResult {
    const r = this.reader;
    r.reset(block);
    const headers: HeaderField[] = [];
    let unknown: UnknownField[] | undefined;
    let listSize = 0;
    let sizeUpdatesAllowed = true;
    while (!r.done) {
      const first = block[r.pos]!;
      if ((first & 0xe0) === SIZE_UPDATE) {
        const size = r.integer(5);
        if (size < 0) return this.fail(integerError(size, 'table size update'));
        if (!sizeUpdatesAllowed) return this.fail({ error: 'table-size', detail: 'size update after a field' });
        if (size > this.setting) return this.fail({ error: 'table-size', detail: `size update to ${size}, limit ${this.setting}` });
        this.table.resize(Math.min(size, TRACKED_TABLE_CAP));
        continue;
      }
      sizeUpdatesAllowed = false;
      let field: HeaderField | null;
      let size: number;
      if (first & INDEXED) {
        const index = r.integer(7);
        if (index < 0) return this.fail(integerError(index, 'index'));
        const found = this.lookup(index);
        if (found === undefined) return this.badIndex(index);
        field = found;
        size = found === null ? ENTRY_OVERHEAD : found[0].length + found[1].length + ENTRY_OVERHEAD;
      } else {
        const indexing = (first & 0xc0) === INCREMENTAL;
        const nameIndex = r.integer(indexing ? 6 : 4);
        if (nameIndex < 0) return this.fail(integerError(nameIndex, 'name index'));
        let name: string | null;
        if (nameIndex === 0) {
          const s = r.string(this.maxHeaderListSize);
          if (typeof s !== 'string') return this.fail(s);
          name = s;
        } else {
          const found = this.lookup(nameIndex);
          if (found === undefined) return this.badIndex(nameIndex);
          name = found === null ? null : found[0];
        }
        const value = r.string(this.maxHeaderListSize);
        if (typeof value !== 'string') return this.fail(value);
        field = name === null ? null : [name, value];
        size = (name === null ? 0 : name.length) + value.length + ENTRY_OVERHEAD;
        if (indexing) {
          if (field === null) this.table.insertUnknownName(value.length);
          else this.table.insert(field);
        }
      }
      // Past the limit nothing more is kept, but the rest of the block still updates the table.
      if (listSize <= this.maxHeaderListSize) {
        listSize += size;
        if (field === null) (unknown ??= []).push(UNKNOWN_NAME);
        else headers.push(field);
      }
    }
    r.release();
    if (listSize > this.maxHeaderListSize) {
      return { ok: false, error: 'header-list-too-large', detail: `more than ${this.maxHeaderListSize} octets` };
    }
    return { ok: true, headers, unknown: unknown ?? NO_UNKNOWN };
  }

  /** The field at `index`: null if it is in the unknown part of the table, undefined if there is none. */
  private lookup(index: number): HeaderField | null | undefined {
    if (index <= STATIC_TABLE_LENGTH) return index === 0 ? undefined : STATIC_TABLE[index - 1];
    return this.table.get(index - STATIC_TABLE_LENGTH);
  }

  private badIndex(index: number): HpackResult {
    const detail = `index ${index}, ${STATIC_TABLE_LENGTH} static and ${this.table.length} dynamic entries`;
    return this.fail({ error: 'bad-index', detail });
  }

  /** The block was applied only in part: the table can no longer be trusted. */
  private fail(e: DecodeError): HpackResult {
    this.reader.release();
    this.table.lose();
    return { ok: false, error: e.error, detail: e.detail };
  }
}
