/**
 * Drains the BPF ring buffer in batches (ARCHITECTURE decision 2) by
 * reading its memory directly: the consumer and producer pages and the
 * data area are mmap'ed, and records are walked in JS. There is no FFI
 * call and no callback from C per record; a wake-up (the kernel's, when
 * enough bytes wait, or our short timer) drains everything there is.
 *
 * Layout (kernel/bpf/ringbuf.c): page 0 holds consumer_pos (we write it),
 * page 1 producer_pos (the kernel writes it), then the data area mapped
 * twice in a row so a record that wraps reads contiguously. Each record
 * has an 8-byte header: u32 length with BUSY and DISCARD bits, u32 page
 * offset; positions only grow and are taken modulo the size.
 */
import { errnoError, lastErrno, libcCalls, MAP_FAILED, MAP_SHARED, pollFd, PROT_READ, PROT_WRITE, type Ptr, view } from './libbpf.js';

const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HEADER = 8;
/** Publish consumer progress this often within one long drain, to free ring space early. */
const PUBLISH_EVERY = 1024;

/** Called for each record: `len` bytes at `offset` of `bytes` / `dv`, valid until it returns. */
export type RecordSink = (dv: DataView, bytes: Uint8Array, offset: number, len: number) => void;

export interface RecordHandlers {
  readonly record: RecordSink;
  /** Called after each drain that handed on at least one record. */
  readonly batchEnd: () => void;
}

export class RingBufferReader {
  private readonly pageSize = libcCalls.getpagesize();
  private readonly consumerMap: Ptr;
  private readonly producerMap: Ptr;
  private readonly consumer: BigInt64Array;
  private readonly producer: BigInt64Array;
  private readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  private readonly dv: DataView;
  private readonly mask: number;
  private position: number;
  private poll: { stop(): void; close(): void } | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Records handed to the sink since start. */
  records = 0;
  /** Drains run since start (one per wake-up or timer tick with data). */
  batches = 0;

  private constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly handlers: RecordHandlers,
    maps: { consumer: Ptr; producer: Ptr },
  ) {
    this.consumerMap = maps.consumer;
    this.producerMap = maps.producer;
    this.consumer = new BigInt64Array(view(maps.consumer, this.pageSize), 0, 1);
    this.producer = new BigInt64Array(view(maps.producer, this.pageSize), 0, 1);
    const data = view(maps.producer + BigInt(this.pageSize), 2 * size);
    this.bytes = new Uint8Array(data);
    this.words = new Int32Array(data);
    this.dv = new DataView(data);
    this.mask = size - 1;
    this.position = Number(Atomics.load(this.consumer, 0));
  }

  /** Map the ring of map `fd`, whose max_entries is `size` (a power of two). */
  static open(fd: number, size: number, handlers: RecordHandlers): RingBufferReader | Error {
    if (size <= 0 || (size & (size - 1)) !== 0 || size > 1 << 30) {
      return new Error(`ring buffer size ${size} is not a power of two up to 1 GiB`);
    }
    const page = libcCalls.getpagesize();
    const consumer = libcCalls.mmap(null, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (consumer === MAP_FAILED) return errnoError('mmap ring buffer consumer page', lastErrno());
    const producer = libcCalls.mmap(null, page + 2 * size, PROT_READ, MAP_SHARED, fd, page);
    if (producer === MAP_FAILED) {
      const err = errnoError('mmap ring buffer data', lastErrno());
      libcCalls.munmap(consumer, page);
      return err;
    }
    return new RingBufferReader(fd, size, handlers, { consumer, producer });
  }

  /** Drain on every kernel wake-up, and every `intervalMs` whatever happens. */
  start(intervalMs: number): void {
    this.poll = pollFd(this.fd, () => this.drain());
    this.timer = setInterval(() => this.drain(), intervalMs);
  }

  /** Bytes written by the kernel and not yet read. */
  pendingBytes(): number {
    return Number(Atomics.load(this.producer, 0)) - this.position;
  }

  /** Hand every complete record to the sink; returns how many. */
  drain(): number {
    let pos = this.position;
    let end = Number(Atomics.load(this.producer, 0));
    let n = 0;
    while (pos < end) {
      const off = pos & this.mask;
      const header = Atomics.load(this.words, off >> 2) >>> 0;
      if (header & BUSY) break; // reserved, not yet submitted: the next drain gets it
      const len = header & ~(BUSY | DISCARD);
      if ((header & DISCARD) === 0) {
        this.handlers.record(this.dv, this.bytes, off + HEADER, len);
        n++;
      }
      pos += (len + HEADER + 7) & ~7;
      if (n % PUBLISH_EVERY === 0) Atomics.store(this.consumer, 0, BigInt(pos));
      if (pos >= end) end = Number(Atomics.load(this.producer, 0));
    }
    if (pos !== this.position) {
      Atomics.store(this.consumer, 0, BigInt(pos));
      this.position = pos;
    }
    if (n > 0) {
      this.records += n;
      this.batches++;
      this.handlers.batchEnd();
    }
    return n;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.poll?.stop();
    this.poll?.close();
    this.poll = null;
  }

  close(): void {
    this.stop();
    libcCalls.munmap(this.consumerMap, this.pageSize);
    libcCalls.munmap(this.producerMap, this.pageSize + 2 * this.size);
  }
}
