/**
 * Trace and span ids as bytes, cut from a pool of random bytes. The SDK's
 * RandomIdGenerator builds each id as a hex string, one Math.random call
 * per byte, and the OTLP encoder would only turn it back into bytes: at
 * thousands of spans a second that was a tenth of Sonde's span cost.
 */
import { randomFillSync } from 'node:crypto';

export const TRACE_ID_BYTES = 16;
export const SPAN_ID_BYTES = 8;
/** One span's ids: its trace id, then its span id. */
export const ID_BYTES = TRACE_ID_BYTES + SPAN_ID_BYTES;

const POOL_SPANS = 512;

/**
 * Hands out ID_BYTES fresh random bytes at a time: take() returns their
 * offset in `bytes`, read right after. A refill makes a new pool rather
 * than overwriting the old one, which earlier spans still point into.
 */
export class SpanIdPool {
  bytes: Uint8Array = new Uint8Array(0);
  private next = 0;

  take(): number {
    if (this.next + ID_BYTES > this.bytes.length) {
      this.bytes = randomFillSync(new Uint8Array(POOL_SPANS * ID_BYTES));
      this.next = 0;
    }
    const at = this.next;
    this.next += ID_BYTES;
    // All-zero ids are invalid (W3C Trace Context): 2^-64 odds at most, and cheap to rule out.
    if (isZero(this.bytes, at, TRACE_ID_BYTES)) this.bytes[at + TRACE_ID_BYTES - 1] = 1;
    if (isZero(this.bytes, at + TRACE_ID_BYTES, SPAN_ID_BYTES)) this.bytes[at + ID_BYTES - 1] = 1;
    return at;
  }
}

function isZero(b: Uint8Array, from: number, n: number): boolean {
  for (let i = from; i < from + n; i++) if (b[i] !== 0) return false;
  return true;
}

/** Hex of `n` bytes of `b` from `from`, as the OpenTelemetry API spells ids. */
export function hexOf(b: Uint8Array, from: number, n: number): string {
  return Buffer.from(b.buffer, b.byteOffset + from, n).toString('hex');
}
