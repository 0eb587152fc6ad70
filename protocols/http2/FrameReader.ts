/**
 * Cuts one direction of an HTTP/2 connection into frames. Bytes may be
 * missing (a record was lost, or only a prefix of a long write was
 * captured): a gap inside a frame's payload costs only that payload, since
 * the frame's length says where the next one starts; a gap over a frame
 * header loses the position, which is found again at the start of a later
 * write or by a run of plausible headers.
 */
import type { Chunk } from '../types.js';
import { CLIENT_PREFACE, FRAME_HEADER_BYTES, Flag, FrameType } from './constants.js';
import { frameChainAt, plausibleFrameHeader, readFrameHeader, type FrameHeader } from './frameHeader.js';
import { FrameSeeker } from './FrameSeeker.js';

/** One frame. DATA payloads are counted, never kept. */
export interface Frame {
  readonly header: FrameHeader;
  /** The payload, for frames other than DATA; null when not all of it was captured or it was too long to keep. */
  readonly payload: Uint8Array | null;
  /** DATA: payload bytes less padding (the padding length counted only when captured). */
  readonly dataBytes: number;
  /** Kernel ns: the chunk where the frame began, and the one where it ended. */
  readonly tsFirst: number;
  readonly tsLast: number;
}

export interface FrameSink {
  frame(frame: Frame): void;
  /** Frames went by unseen: any header block among them is lost. */
  lost(): void;
  error(code: string, detail: string): void;
}

export interface FrameReaderStats {
  /** Bytes passed over while looking for a frame header. */
  skippedBytes: number;
  resyncs: number;
}

export class FrameReader {
  /** Largest payload the peer may send; raised when SETTINGS say so. */
  maxFrameSize: number;
  /** Non-DATA payloads longer than this are counted, not kept. */
  private readonly maxPayload: number;
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerLen = 0;
  private frame: FrameHeader | null = null;
  private remaining = 0;
  private payload: Uint8Array | null = null;
  private payloadLen = 0;
  private complete = true;
  private padLength = -1;
  private frameTs = 0;
  /** Bytes of the client preface still to come (toServer only). */
  private prefaceLeft: number;
  private lostPosition: boolean;
  /** Only while frames are being looked for. */
  private seeker: FrameSeeker | null = null;

  constructor(
    private readonly sink: FrameSink,
    private readonly stats: FrameReaderStats,
    opts: { preface: boolean; midway: boolean; maxFrameSize: number; maxPayload: number },
  ) {
    this.prefaceLeft = opts.preface ? CLIENT_PREFACE.length : 0;
    this.lostPosition = opts.midway;
    this.maxFrameSize = opts.maxFrameSize;
    this.maxPayload = opts.maxPayload;
  }


  /** DATA payload still to come: bytes capture may skip. */
  skippable(): number {
    return this.frame?.type === FrameType.Data && !this.lostPosition ? this.remaining : 0;
  }

  push(chunk: Chunk): void {
    const data = chunk.data;
    const total = Number.isSafeInteger(chunk.length) && chunk.length >= 0 ? chunk.length : data.length;
    const captured = Math.min(data.length, total);
    let pos = 0;
    if (this.lostPosition && captured > 0) this.resyncAtWrite(data, captured, total);
    while (pos < total) {
      if (this.lostPosition) pos = this.seek(data, pos, captured, total, chunk.tsFirst, chunk.tsLast);
      else if (this.prefaceLeft > 0) pos = this.preface(data, pos, captured);
      else if (this.frame === null) pos = this.readHeader(data, pos, captured, chunk.tsFirst, chunk.tsLast);
      else pos = this.readPayload(data, pos, captured, total, chunk.tsLast);
    }
  }

  /**
   * A write usually starts with a frame: believe a plausible header there
   * when another follows it, or it ends the write, or it is a DATA frame
   * running past what was captured (its content is never interpreted).
   */
  private resyncAtWrite(data: Uint8Array, captured: number, total: number): void {
    if (captured < FRAME_HEADER_BYTES) return;
    const h = readFrameHeader(data, 0);
    if (!plausibleFrameHeader(h, this.maxFrameSize)) return;
    const end = FRAME_HEADER_BYTES + h.length;
    const ok = end > captured ? h.type === FrameType.Data : frameChainAt(data, 0, captured, captured === total, this.maxFrameSize);
    if (ok) this.regain();
  }

  /** Looks for frames again in what was captured; a gap starts the looking over. */
  private seek(data: Uint8Array, pos: number, captured: number, total: number, tsFirst: number, tsLast: number): number {
    if (pos >= captured) {
      this.dropSeeker();
      this.stats.skippedBytes += total - pos;
      return total;
    }
    this.seeker ??= new FrameSeeker(() => this.maxFrameSize);
    const found = this.seeker.add(data.subarray(pos, captured));
    if (found === null) return captured;
    this.regain();
    this.push({ data: found, length: found.length, tsFirst, tsLast });
    return captured;
  }

  private dropSeeker(): void {
    if (this.seeker === null) return;
    this.stats.skippedBytes += this.seeker.skipped;
    this.seeker = null;
  }

  private regain(): void {
    this.lostPosition = false;
    this.dropSeeker();
    this.stats.resyncs++;
    this.frame = null;
    this.headerLen = 0;
  }

  private loseTrack(): void {
    this.lostPosition = true;
    this.frame = null;
    this.headerLen = 0;
    this.payload = null;
    this.prefaceLeft = 0;
    this.sink.lost();
  }

  private preface(data: Uint8Array, pos: number, captured: number): number {
    if (pos >= captured) {
      this.loseTrack();
      return pos;
    }
    const at = CLIENT_PREFACE.length - this.prefaceLeft;
    const n = Math.min(this.prefaceLeft, captured - pos);
    for (let k = 0; k < n; k++) {
      if (data[pos + k] !== CLIENT_PREFACE[at + k]) {
        this.sink.error('bad-preface', 'client preface expected');
        this.loseTrack();
        return pos;
      }
    }
    this.prefaceLeft -= n;
    return pos + n;
  }

  private readHeader(data: Uint8Array, pos: number, captured: number, ts: number, tsLast: number): number {
    if (pos >= captured) {
      this.loseTrack();
      return pos;
    }
    if (this.headerLen === 0) this.frameTs = ts;
    const n = Math.min(FRAME_HEADER_BYTES - this.headerLen, captured - pos);
    this.header.set(data.subarray(pos, pos + n), this.headerLen);
    this.headerLen += n;
    if (this.headerLen < FRAME_HEADER_BYTES) return pos + n;
    const h = readFrameHeader(this.header, 0);
    this.headerLen = 0;
    if (!plausibleFrameHeader(h, this.maxFrameSize)) {
      this.sink.error('bad-frame-header', `type ${h.type} length ${h.length} stream ${h.streamId}`);
      this.loseTrack();
      return pos + n;
    }
    this.frame = h;
    this.remaining = h.length;
    this.payloadLen = 0;
    this.complete = true;
    this.padLength = -1;
    const keep = h.type !== FrameType.Data && h.length <= this.maxPayload;
    this.payload = keep ? new Uint8Array(h.length) : null;
    if (h.type !== FrameType.Data && !keep) this.complete = false;
    // An empty frame (SETTINGS ack, DATA with only END_STREAM) is whole now, not at the next byte.
    if (h.length === 0) this.finishFrame(tsLast);
    return pos + n;
  }

  private readPayload(data: Uint8Array, pos: number, captured: number, total: number, ts: number): number {
    const h = this.frame!;
    const n = Math.min(this.remaining, total - pos);
    const seen = Math.max(0, Math.min(pos + n, captured) - pos);
    if (seen < n) this.complete = false;
    if (h.type === FrameType.Data) {
      if (this.payloadLen === 0 && seen > 0 && h.flags & Flag.Padded) this.padLength = data[pos]!;
    } else if (this.payload !== null && seen > 0) {
      this.payload.set(data.subarray(pos, pos + seen), this.payloadLen);
    }
    this.payloadLen += n;
    this.remaining -= n;
    if (this.remaining === 0) this.finishFrame(ts);
    return pos + n;
  }

  private finishFrame(ts: number): void {
    const h = this.frame!;
    this.frame = null;
    let dataBytes = 0;
    if (h.type === FrameType.Data) {
      const padding = h.flags & Flag.Padded ? 1 + Math.max(0, this.padLength) : 0;
      dataBytes = Math.max(0, h.length - padding);
    }
    const payload = this.complete ? this.payload : null;
    this.payload = null;
    this.sink.frame({ header: h, payload, dataBytes, tsFirst: this.frameTs, tsLast: ts });
  }
}
