/**
 * The bytes of a head split across chunks: the only bytes the parser copies.
 * Its owner never appends past `maxBytes`, and the storage never grows past it.
 */

/** Buffers above this size are released between heads, so idle connections stay small. */
const KEEP_BYTES = 4096;

export class HeadBuffer {
  private bytes = new Uint8Array(256);
  length = 0;

  constructor(private readonly maxBytes: number) {}

  append(src: Uint8Array, from: number, to: number): void {
    const needed = this.length + (to - from);
    if (needed > this.bytes.length) {
      const grown = new Uint8Array(Math.max(needed, Math.min(this.maxBytes, this.bytes.length * 2)));
      grown.set(this.bytes.subarray(0, this.length));
      this.bytes = grown;
    }
    this.bytes.set(src.subarray(from, to), this.length);
    this.length = needed;
  }

  /** The buffered bytes; valid until the next append or reset. */
  view(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
    if (this.bytes.length > KEEP_BYTES) this.bytes = new Uint8Array(256);
  }
}
