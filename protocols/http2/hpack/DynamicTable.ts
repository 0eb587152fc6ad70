/**
 * The dynamic table of one direction (RFC 7541 sections 2.3 and 4), as far
 * as a passive observer can know it.
 *
 * A capture that starts mid-connection or loses a header block misses
 * insertions, so the table is modelled as the entries inserted since then,
 * newest first, followed by an unknown tail of older entries never seen.
 * The tracked entries stay exact: insertions only push at the front and
 * indexes count from the front, so the n-th newest entry is the n-th newest
 * whatever the tail holds. What this class must never do is get an index
 * wrong; it may say "unknown" whenever it cannot be sure.
 *
 * Eviction rests on three facts:
 *  - if the entries 1..i (newest first) are known to total more than the
 *    table's maximum, entry i and everything older are gone, the unknown
 *    tail included: the peer evicts oldest first;
 *  - likewise, when the tracked entries leave no room for the smallest
 *    entry (the 32-octet overhead), the tail is empty;
 *  - an entry whose name was a reference into the unknown part has an
 *    unknown size, so from it on the total is unknown, and entries that may
 *    have been evicted because of it are marked unknown rather than trusted.
 * While the tail may exist, the maximum used is an upper bound of the
 * peer's (its limit, until a size update is seen): keeping an entry the
 * peer evicted is harmless, as the peer will not refer to it.
 */
import type { HeaderField } from './types.js';

/** The octets an entry takes beyond its name and value (section 4.1). */
export const ENTRY_OVERHEAD = 32;

interface Entry {
  /** null: unknown, a name from the unknown part or an entry that may have been evicted. */
  field: HeaderField | null;
  /** Section 4.1 size: exact when `exact`, else a lower bound (value and overhead only). */
  readonly size: number;
  readonly exact: boolean;
}

export class DynamicTable {
  /** Ring of entries, oldest at `oldest`; its capacity is a power of two. */
  private ring: (Entry | undefined)[] = new Array<Entry | undefined>(16);
  private oldest = 0;
  private count = 0;
  /** Sum of the tracked sizes: exact when all are, a lower bound of their real total otherwise. */
  private lowSum = 0;
  /** Tracked entries whose field is null. */
  private unknownCount = 0;
  /** Entries older than the tracked ones may exist, never seen. */
  private tail: boolean;

  /**
   * @param limit the largest maximum size the peer may choose (SETTINGS_HEADER_TABLE_SIZE)
   * @param maxSize the maximum size in force; unknown mid-connection, so the limit then
   */
  constructor(
    private limit: number,
    private maxSize: number,
    unknownTail: boolean,
  ) {
    this.tail = unknownTail && maxSize >= ENTRY_OVERHEAD;
  }

  get synced(): boolean {
    return !this.tail && this.unknownCount === 0;
  }

  get length(): number {
    return this.count;
  }

  /** Sum of the sizes of the entries known exactly. */
  get knownSize(): number {
    let sum = 0;
    for (let i = 1; i <= this.count; i++) {
      const e = this.at(i);
      if (e.field !== null) sum += e.size;
    }
    return sum;
  }

  /** Tracked entries, newest first; null for one not known. */
  entries(): ReadonlyArray<HeaderField | null> {
    return Array.from({ length: this.count }, (_, i) => this.at(i + 1).field);
  }

  /**
   * The entry at dynamic index `i` (1 is the newest): its field, null if it
   * may exist but is not known, undefined if the peer cannot have one there.
   */
  get(i: number): HeaderField | null | undefined {
    if (i <= this.count) return this.at(i).field;
    // Each unseen entry takes at least the overhead, and all must fit with the tracked ones.
    if (this.tail && this.lowSum + ENTRY_OVERHEAD * (i - this.count) <= this.maxSize) return null;
    return undefined;
  }

  insert(field: HeaderField): void {
    this.push({ field, size: field[0].length + field[1].length + ENTRY_OVERHEAD, exact: true });
  }

  /** An insertion whose name is a reference into the unknown part; only the value is known. */
  insertUnknownName(valueLength: number): void {
    this.push({ field: null, size: valueLength + ENTRY_OVERHEAD, exact: false });
  }

  /** A dynamic table size update (section 6.3); the caller checked it against the limit. */
  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.evict();
  }

  /** A new SETTINGS_HEADER_TABLE_SIZE: bounds later size updates, evicts nothing itself (section 4.2). */
  setLimit(limit: number): void {
    this.limit = limit;
  }

  /**
   * Insertions may have been missed: every tracked entry's index is now off
   * by an unknown amount, so all of them join the unknown tail.
   */
  lose(): void {
    this.truncate(0);
    // A missed size update may have set any maximum up to the limit.
    this.maxSize = this.limit;
    this.tail = this.maxSize >= ENTRY_OVERHEAD;
  }

  private at(i: number): Entry {
    return this.ring[(this.oldest + this.count - i) & (this.ring.length - 1)]!;
  }

  private push(e: Entry): void {
    if (e.size > this.maxSize) {
      // Even its lower bound does not fit: the peer emptied its table and kept nothing (section 4.4).
      this.truncate(0);
      this.tail = false;
      return;
    }
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.oldest + this.count) & (this.ring.length - 1)] = e;
    this.count++;
    this.lowSum += e.size;
    if (e.field === null) this.unknownCount++;
    this.evict();
  }

  private evict(): void {
    if (this.unknownCount === 0) {
      if (this.lowSum > this.maxSize) {
        while (this.lowSum > this.maxSize) this.truncate(this.count - 1);
        this.tail = false;
      }
    } else {
      this.evictUncertain();
    }
    // Not even one more entry fits after the tracked ones: nothing unseen is left.
    if (this.tail && this.lowSum + ENTRY_OVERHEAD > this.maxSize) this.tail = false;
  }

  /** Eviction when some sizes are lower bounds: walks the entries newest first. */
  private evictUncertain(): void {
    // An unknown name belonged to an entry that fit the table, which bounds its length.
    const nameBound = Math.max(0, this.limit - ENTRY_OVERHEAD);
    let low = 0;
    let high = 0;
    for (let i = 1; i <= this.count; i++) {
      const e = this.at(i);
      low += e.size;
      if (low > this.maxSize) {
        this.truncate(i - 1);
        this.tail = false;
        return;
      }
      high += e.exact ? e.size : e.size + nameBound;
      if (high > this.maxSize && e.field !== null) {
        // It fits only if the unknown names before it are short: it may be gone.
        e.field = null;
        this.unknownCount++;
      }
    }
  }

  /** Drops the oldest entries until `keep` are left. */
  private truncate(keep: number): void {
    const mask = this.ring.length - 1;
    while (this.count > keep) {
      const e = this.ring[this.oldest]!;
      this.ring[this.oldest] = undefined;
      this.oldest = (this.oldest + 1) & mask;
      this.count--;
      this.lowSum -= e.size;
      if (e.field === null) this.unknownCount--;
    }
    if (this.count === 0) this.oldest = 0;
  }

  private grow(): void {
    const bigger = new Array<Entry | undefined>(this.ring.length * 2);
    for (let i = 0; i < this.count; i++) bigger[i] = this.ring[(this.oldest + i) & (this.ring.length - 1)];
    this.ring = bigger;
    this.oldest = 0;
  }
}
