/**
 * Finds frames again in bytes of unknown position: two plausible frame
 * headers in a row. Bytes are gathered across chunks (reads may be short),
 * up to a bound, and each position is judged once: when its first header
 * is implausible, or when enough bytes have come to see the second.
 */
import { FRAME_HEADER_BYTES } from './constants.js';
import { plausibleFrameHeader, readFrameHeader } from './frameHeader.js';

/** Bytes kept while looking. */
const WINDOW = 32 * 1024;
/** Positions waiting for their second header. */
const MAX_CANDIDATES = 64;

export class FrameSeeker {
  private buf = new Uint8Array(WINDOW);
  private len = 0;
  /** Positions below this were judged or are candidates. */
  private judged = 0;
  /** Positions with a plausible header whose follower is not here yet, with where that follower starts. */
  private candidates: Array<{ at: number; next: number }> = [];
  /** Bytes passed over for good. */
  skipped = 0;

  constructor(private readonly maxFrameSize: () => number) {}

  /**
   * Adds contiguous bytes; returns the bytes from the first frame found
   * on (the seeker is then spent), or null.
   */
  add(bytes: Uint8Array): Uint8Array | null {
    let from = 0;
    while (from < bytes.length) {
      if (this.len === WINDOW) this.drop(WINDOW / 2);
      const n = Math.min(bytes.length - from, WINDOW - this.len);
      this.buf.set(bytes.subarray(from, from + n), this.len);
      this.len += n;
      from += n;
      const at = this.find();
      if (at >= 0) {
        const found = new Uint8Array(this.len - at + (bytes.length - from));
        found.set(this.buf.subarray(at, this.len));
        found.set(bytes.subarray(from), this.len - at);
        this.skipped += at;
        return found;
      }
    }
    return null;
  }

  private find(): number {
    const max = this.maxFrameSize();
    let best = -1;
    // Earlier candidates first: they are older positions.
    this.candidates = this.candidates.filter((c) => {
      if (c.next + FRAME_HEADER_BYTES > this.len) return true;
      if (best < 0 && plausibleFrameHeader(readFrameHeader(this.buf, c.next), max)) best = c.at;
      return false;
    });
    if (best >= 0) return best;
    for (let p = this.judged; p + FRAME_HEADER_BYTES <= this.len; p++) {
      this.judged = p + 1;
      const h = readFrameHeader(this.buf, p);
      if (!plausibleFrameHeader(h, max)) continue;
      const next = p + FRAME_HEADER_BYTES + h.length;
      if (next + FRAME_HEADER_BYTES <= this.len) {
        if (plausibleFrameHeader(readFrameHeader(this.buf, next), max)) return p;
      } else if (this.candidates.length < MAX_CANDIDATES) this.candidates.push({ at: p, next });
    }
    return -1;
  }

  private drop(k: number): void {
    this.buf.copyWithin(0, k, this.len);
    this.len -= k;
    this.skipped += k;
    this.judged = Math.max(0, this.judged - k);
    this.candidates = this.candidates.filter((c) => c.at >= k).map((c) => ({ at: c.at - k, next: c.next - k }));
  }
}
