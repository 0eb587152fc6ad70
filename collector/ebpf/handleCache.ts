/**
 * Kernel handles (socket and TLS session pointers) as bigints, without a
 * new heap bigint per record: every data record names its socket and TLS
 * session, and a getBigUint64 each time was ~80 of ~5800 bytes allocated
 * per traced request. A bigint is a value (=== compares values), so
 * handing back one made earlier for the same 64 bits changes nothing.
 */

/** Direct-mapped, this many slots: bounded, and enough for the sockets active at once between two drains. */
const SLOTS = 512;
/** Kernel objects are at least 64-byte aligned: the low bits carry nothing. */
const ALIGN_SHIFT = 6;

export class HandleCache {
  private readonly lo = new Uint32Array(SLOTS);
  private readonly hi = new Uint32Array(SLOTS);
  private readonly values: bigint[] = new Array<bigint>(SLOTS).fill(0n);

  /** The little-endian u64 at `off` of `view`. */
  read(view: DataView, off: number): bigint {
    const lo = view.getUint32(off, true);
    const hi = view.getUint32(off + 4, true);
    // Slot 0 holds 0n from the start: a TLS field of a plain connection.
    const slot = ((lo >>> ALIGN_SHIFT) ^ hi) & (SLOTS - 1);
    if (this.lo[slot] === lo && this.hi[slot] === hi) return this.values[slot]!;
    const value = view.getBigUint64(off, true);
    this.lo[slot] = lo;
    this.hi[slot] = hi;
    this.values[slot] = value;
    return value;
  }
}
