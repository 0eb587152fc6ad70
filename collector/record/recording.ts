/**
 * A recording of what the kernel handed Sonde: every raw ring-buffer
 * record, in its batches, with the facts about each process that spans
 * name and the clock offset of the moment. `sonde record` writes one;
 * `sonde replay` runs it through the same pipeline, so a user's bug report
 * can be replayed here, and the pipeline can be measured without a load
 * generator.
 *
 * Layout: a 16-byte header ("SONDEREC", u32 version, u32 size of a data
 * record's header, as a guard against replaying another ABI), then items:
 * u8 kind, 3 bytes padding, u32 length, `length` bytes, padding to 8.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { ProcessFacts } from '../discovery/procfs.js';
import { EventType, Layout, type DecodeError, type KernelEvent } from '../ebpf/abi.js';

const MAGIC = 'SONDEREC';
const VERSION = 2;
const HEADER = 16;

export const ItemKind = {
  /** One raw ring-buffer record. */
  Record: 1,
  /** JSON of a ProcessFacts. */
  Facts: 2,
  /** Wall minus monotonic clock: f64 seconds, f64 nanoseconds. */
  Clock: 3,
  /** The records since the last batch end were one batch. */
  BatchEnd: 4,
} as const;

export type RecordingItem =
  | { kind: typeof ItemKind.Record; bytes: Uint8Array }
  | { kind: typeof ItemKind.Facts; facts: ProcessFacts }
  | { kind: typeof ItemKind.Clock; offset: readonly [number, number] }
  | { kind: typeof ItemKind.BatchEnd };

function item(kind: number, body: Uint8Array): Buffer {
  const padded = (body.length + 7) & ~7;
  const out = Buffer.alloc(8 + padded);
  out[0] = kind;
  out.writeUInt32LE(body.length, 4);
  out.set(body, 8);
  return out;
}

export class RecordingWriter {
  private pending: Buffer[] = [];
  private readonly factsWritten = new Set<number>();
  private lastOffset: readonly [number, number] = [0, 0];
  records = 0;
  bytes = HEADER;

  private constructor(private readonly fd: number) {}

  static open(path: string): RecordingWriter | Error {
    let fd: number;
    try {
      fd = openSync(path, 'w', 0o600);
    } catch (e) {
      return new Error(`cannot write recording ${path}: ${(e as Error).message}`);
    }
    const header = Buffer.alloc(HEADER);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(VERSION, 8);
    header.writeUInt32LE(Layout.data.data, 12);
    writeSync(fd, header);
    return new RecordingWriter(fd);
  }

  /** A raw record, kept until its batch is written. */
  raw(bytes: Uint8Array): void {
    this.pending.push(item(ItemKind.Record, bytes));
  }

  /**
   * The batch of the raw records seen since the last call: written after the
   * facts of processes it is the first to mention, and the clock offset.
   * `factsOf` gives null for a process that was not traced: it gets no facts,
   * and a replay ignores its records, as the live run did.
   */
  batch(events: ReadonlyArray<KernelEvent | DecodeError>, offset: readonly [number, number], factsOf: (pid: number) => ProcessFacts | null): void {
    const head: Buffer[] = [];
    for (const ev of events) {
      if (ev.type !== EventType.Data && ev.type !== EventType.ConnOpen) continue;
      if (this.factsWritten.has(ev.pid)) continue;
      const facts = factsOf(ev.pid);
      if (!facts) continue; // not traced (yet): its records were not used, and a replay will not use them
      this.factsWritten.add(ev.pid);
      head.push(item(ItemKind.Facts, Buffer.from(JSON.stringify(facts))));
    }
    if (offset[0] !== this.lastOffset[0] || offset[1] !== this.lastOffset[1]) {
      const clock = Buffer.alloc(16);
      clock.writeDoubleLE(offset[0], 0);
      clock.writeDoubleLE(offset[1], 8);
      head.push(item(ItemKind.Clock, clock));
      this.lastOffset = offset;
    }
    const all = Buffer.concat([...head, ...this.pending, item(ItemKind.BatchEnd, new Uint8Array(0))]);
    this.records += this.pending.length;
    this.pending = [];
    writeSync(this.fd, all);
    this.bytes += all.length;
  }

  async close(): Promise<void> {
    closeSync(this.fd);
  }
}

/** Every item of a recording, in order; an Error if it is not one we can read. */
export function readRecording(path: string): RecordingItem[] | Error {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    return new Error(`cannot read recording ${path}: ${(e as Error).message}`);
  }
  if (buf.length < HEADER || buf.toString('latin1', 0, 8) !== MAGIC) return new Error(`${path} is not a Sonde recording`);
  const version = buf.readUInt32LE(8);
  if (version !== VERSION) return new Error(`${path} is recording version ${version}; this Sonde reads version ${VERSION}`);
  if (buf.readUInt32LE(12) !== Layout.data.data) return new Error(`${path} was recorded by a Sonde with another event ABI`);
  const items: RecordingItem[] = [];
  for (let off = HEADER; off + 8 <= buf.length; ) {
    const kind = buf[off]!;
    const length = buf.readUInt32LE(off + 4);
    const body = buf.subarray(off + 8, off + 8 + length);
    if (body.length < length) return new Error(`${path} is cut short at byte ${off}`);
    off += 8 + ((length + 7) & ~7);
    if (kind === ItemKind.Record) items.push({ kind, bytes: body });
    else if (kind === ItemKind.Facts) items.push({ kind, facts: JSON.parse(body.toString('utf8')) as ProcessFacts });
    else if (kind === ItemKind.Clock) items.push({ kind, offset: [body.readDoubleLE(0), body.readDoubleLE(8)] });
    else if (kind === ItemKind.BatchEnd) items.push({ kind });
    else return new Error(`${path}: unknown item kind ${kind} at byte ${off}`);
  }
  return items;
}
