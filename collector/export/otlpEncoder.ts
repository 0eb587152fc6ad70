/**
 * ExportTraceServiceRequest (OTLP protobuf) from spans. The OpenTelemetry
 * exporters keep their transport, retries, timeouts and headers; only their
 * serializer is replaced: at 10k spans/s, it and the span objects it kept
 * alive until export were over half of Sonde's CPU time. Here each span is
 * measured, then written once, the moment it is made (SpanEncoder), and a
 * batch becomes a request by framing those bytes: attribute keys encoded
 * once, ASCII strings and hex ids written byte by byte, each Resource
 * encoded once per process.
 *
 * Field numbers from opentelemetry-proto (trace/v1, common/v1,
 * resource/v1, collector/trace/v1).
 */
import type { AttributeValue, Attributes, HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { SondeSpan } from '../spans/SondeSpan.js';
import { SPAN_ID_BYTES, TRACE_ID_BYTES } from '../spans/SpanIds.js';

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const I32 = 5;
const tag = (field: number, wire: number): number => (field << 3) | wire;

function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  let size = 5;
  for (let v = Math.floor(n / 0x800000000); v > 0; v = Math.floor(v / 128)) size++;
  return size;
}

/** UTF-8 length, without leaving JS for the usual short ASCII string. */
function utf8Length(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return s.length;
}

/** Size of a length-delimited field holding `n` bytes (tag of a field below 16). */
const lenField = (n: number): number => 1 + varintSize(n) + n;

const HEX = new Uint8Array(128);
for (let i = 0; i < 16; i++) {
  HEX['0123456789abcdef'.charCodeAt(i)] = i;
  HEX['0123456789ABCDEF'.charCodeAt(i)] = i;
}

class Writer {
  pos = 0;
  constructor(public buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    let v = n;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  /** A negative int64: ten bytes of two's complement. */
  negative(n: number): void {
    let v = BigInt.asUintN(64, BigInt(n));
    for (let i = 0; i < 9; i++) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  raw(b: Uint8Array): void {
    // TypedArray.set costs a trip into the runtime: a loop is faster for short keys.
    if (b.length < 64) this.bytes(b, 0, b.length);
    else {
      this.buf.set(b, this.pos);
      this.pos += b.length;
    }
  }

  /** A string of known UTF-8 length `n`, without its tag. */
  string(s: string, n: number): void {
    this.varint(n);
    if (n === s.length) {
      const buf = this.buf;
      let p = this.pos;
      for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      // buf.write stops quietly at the end of the buffer; the encoder must know.
      if (this.buf.write(s, this.pos, n, 'utf8') !== n) throw new RangeError('OTLP encoder: buffer full');
      this.pos += n;
    }
  }

  /** A hex id as its bytes, without its tag. */
  hex(h: string): void {
    const n = h.length >> 1;
    this.varint(n);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[this.pos++] = (HEX[h.charCodeAt(2 * i)]! << 4) | HEX[h.charCodeAt(2 * i + 1)]!;
  }

  /** Unix nanoseconds exceed 2^53: built from 16-bit halves of the seconds, each step exact. */
  fixed64(t: HrTime): void {
    const hiSec = Math.floor(t[0] / 65536);
    const a = hiSec * 1e9;
    const low = (a % 65536) * 65536 + (t[0] - hiSec * 65536) * 1e9 + t[1];
    this.uint32(low % 4294967296);
    this.uint32(Math.floor(a / 65536) + Math.floor(low / 4294967296));
  }

  uint32(n: number): void {
    if (this.pos + 4 > this.buf.length) throw new RangeError('OTLP encoder: buffer full');
    const buf = this.buf;
    buf[this.pos++] = n & 0xff;
    buf[this.pos++] = (n >>> 8) & 0xff;
    buf[this.pos++] = (n >>> 16) & 0xff;
    buf[this.pos++] = n >>> 24;
  }

  /** `n` bytes of `b` from `from`, without a tag or length. */
  bytes(b: Uint8Array, from: number, n: number): void {
    const buf = this.buf;
    let p = this.pos;
    for (let i = from; i < from + n; i++) buf[p++] = b[i]!;
    this.pos = p;
  }
}

/** The tag and length-prefixed key of a KeyValue, encoded once per key. */
const keyFields = new Map<string, Buffer>();
function keyField(key: string): Buffer {
  let b = keyFields.get(key);
  if (b === undefined) {
    const n = utf8Length(key);
    const w = new Writer(Buffer.alloc(lenField(n)));
    w.byte(tag(1, LEN));
    w.string(key, n);
    b = w.buf;
    if (keyFields.size < 4096) keyFields.set(key, b);
  }
  return b;
}

/** Size of an AnyValue message body. */
function anyValueSize(v: AttributeValue): number {
  if (typeof v === 'string') return lenField(utf8Length(v));
  if (typeof v === 'boolean') return 2;
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 1 + (v >= 0 ? varintSize(v) : 10) : 9;
  let array = 0;
  for (const x of v) array += lenField(x === null || x === undefined ? 0 : anyValueSize(x));
  return lenField(array);
}

function writeAnyValue(w: Writer, v: AttributeValue): void {
  if (typeof v === 'string') {
    w.byte(tag(1, LEN));
    w.string(v, utf8Length(v));
  } else if (typeof v === 'boolean') {
    w.byte(tag(2, VARINT));
    w.byte(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      w.byte(tag(3, VARINT));
      if (v >= 0) w.varint(v);
      else w.negative(v);
    } else {
      w.byte(tag(4, I64));
      w.buf.writeDoubleLE(v, w.pos);
      w.pos += 8;
    }
  } else {
    // ArrayValue { repeated AnyValue values = 1 } at AnyValue.array_value = 5
    let array = 0;
    for (const x of v) array += lenField(x === null || x === undefined ? 0 : anyValueSize(x));
    w.byte(tag(5, LEN));
    w.varint(array);
    for (const x of v) {
      w.byte(tag(1, LEN));
      if (x === null || x === undefined) w.byte(0);
      else {
        w.varint(anyValueSize(x));
        writeAnyValue(w, x);
      }
    }
  }
}

/** KeyValue body size: key field, then value = 2 holding the AnyValue. */
function keyValueSize(key: string, v: AttributeValue): number {
  return keyField(key).length + lenField(anyValueSize(v));
}

function attributesSize(attrs: Attributes, field: number): number {
  let size = 0;
  for (const key in attrs) {
    const v = attrs[key];
    if (v !== undefined) size += varintSize(tag(field, LEN)) + lenFieldBody(keyValueSize(key, v));
  }
  return size;
}

/** Length prefix plus body. */
const lenFieldBody = (n: number): number => varintSize(n) + n;

function writeAttributes(w: Writer, attrs: Attributes, field: number): void {
  for (const key in attrs) {
    const v = attrs[key];
    if (v !== undefined) writeKeyValue(w, keyField(key), v, field);
  }
}

/** Key fields of a SondeSpan kind's attribute keys, looked up once per kind. */
const keyFieldLists = new WeakMap<readonly string[], Buffer[]>();
function keyFieldsOf(keys: readonly string[]): Buffer[] {
  let list = keyFieldLists.get(keys);
  if (list === undefined) keyFieldLists.set(keys, (list = keys.map(keyField)));
  return list;
}

/** A SondeSpan's attributes: the same bytes writeAttributes gives its attributes object. */
function writeAttributeValues(w: Writer, keys: readonly Buffer[], values: ReadonlyArray<AttributeValue | undefined>, field: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined) writeKeyValue(w, keys[i]!, v, field);
  }
}

/** KeyValue { key = 1; value = 2 } as field `field`, `k` its encoded key field. */
function writeKeyValue(w: Writer, k: Buffer, v: AttributeValue, field: number): void {
  w.varint(tag(field, LEN));
  if (typeof v === 'string') {
    // The common case, measured once: KeyValue { key, value: AnyValue { string_value } }
    const n = utf8Length(v);
    const any = lenField(n);
    w.varint(k.length + lenField(any));
    w.raw(k);
    w.byte(tag(2, LEN));
    w.varint(any);
    w.byte(tag(1, LEN));
    w.string(v, n);
    return;
  }
  const any = anyValueSize(v);
  w.varint(k.length + lenField(any));
  w.raw(k);
  w.byte(tag(2, LEN));
  w.varint(any);
  writeAnyValue(w, v);
}

function statusSize(s: ReadableSpan): number {
  let n = 0;
  if (s.status.message) n += lenField(utf8Length(s.status.message));
  if (s.status.code) n += 1 + varintSize(s.status.code);
  return n;
}

/** The ids, trace state and trace flags of a span's own context. */
function idsSize(s: ReadableSpan): number {
  if (s instanceof SondeSpan) {
    const state = s.traceState?.serialize();
    return lenField(TRACE_ID_BYTES) + lenField(SPAN_ID_BYTES) + (state ? lenField(utf8Length(state)) : 0);
  }
  const ctx = s.spanContext();
  const state = ctx.traceState?.serialize();
  return lenField(ctx.traceId.length >> 1) + lenField(ctx.spanId.length >> 1) + (state ? lenField(utf8Length(state)) : 0);
}

function writeTraceState(w: Writer, state: string | undefined): void {
  if (!state) return;
  w.byte(tag(3, LEN));
  w.string(state, utf8Length(state));
}

/** Writes the ids and trace state, and returns the trace flags. */
function writeIds(w: Writer, s: ReadableSpan): number {
  if (s instanceof SondeSpan) {
    // Its ids are bytes already, and no hex context is made for them.
    w.byte(tag(1, LEN));
    w.byte(TRACE_ID_BYTES);
    w.bytes(s.ids, s.idOffset, TRACE_ID_BYTES);
    w.byte(tag(2, LEN));
    w.byte(SPAN_ID_BYTES);
    w.bytes(s.ids, s.idOffset + TRACE_ID_BYTES, SPAN_ID_BYTES);
    writeTraceState(w, s.traceState?.serialize());
    return s.traceFlags;
  }
  const ctx = s.spanContext();
  w.byte(tag(1, LEN));
  w.hex(ctx.traceId);
  w.byte(tag(2, LEN));
  w.hex(ctx.spanId);
  writeTraceState(w, ctx.traceState?.serialize());
  return ctx.traceFlags;
}

function spanSize(s: ReadableSpan): number {
  let n = idsSize(s);
  if (s.parentSpanContext?.spanId) n += lenField(s.parentSpanContext.spanId.length >> 1);
  n += lenField(utf8Length(s.name));
  n += 1 + varintSize(s.kind + 1); // kind
  n += 9 + 9; // start and end, fixed64
  n += attributesSize(s.attributes, 9);
  if (s.droppedAttributesCount) n += 1 + varintSize(s.droppedAttributesCount);
  n += lenField(statusSize(s));
  n += 2 + 4; // flags: field 16 takes a two-byte tag
  return n;
}

function writeSpan(w: Writer, s: ReadableSpan): void {
  const traceFlags = writeIds(w, s);
  if (s.parentSpanContext?.spanId) {
    w.byte(tag(4, LEN));
    w.hex(s.parentSpanContext.spanId);
  }
  w.byte(tag(5, LEN));
  w.string(s.name, utf8Length(s.name));
  w.byte(tag(6, VARINT));
  w.varint(s.kind + 1); // the API's INTERNAL is 0, OTLP's SPAN_KIND_INTERNAL is 1
  w.byte(tag(7, I64));
  w.fixed64(s.startTime);
  w.byte(tag(8, I64));
  w.fixed64(s.endTime);
  if (s instanceof SondeSpan) writeAttributeValues(w, keyFieldsOf(s.attributeKeys), s.attributeValues, 9);
  else writeAttributes(w, s.attributes, 9);
  if (s.droppedAttributesCount) {
    w.byte(tag(10, VARINT));
    w.varint(s.droppedAttributesCount);
  }
  // Status { message = 2; code = 3 }
  w.byte(tag(15, LEN));
  w.varint(statusSize(s));
  if (s.status.message) {
    w.byte(tag(2, LEN));
    w.string(s.status.message, utf8Length(s.status.message));
  }
  if (s.status.code) {
    w.byte(tag(3, VARINT));
    w.varint(s.status.code);
  }
  // SpanFlags: W3C trace flags, and whether the parent is remote (CONTEXT_HAS_IS_REMOTE, IS_REMOTE).
  w.varint(tag(16, I32));
  w.uint32((traceFlags & 0xff) | 0x100 | (s.parentSpanContext?.isRemote ? 0x200 : 0));
}

/** Resource { repeated KeyValue attributes = 1 }: the body, once per process. */
const resourceBodies = new WeakMap<Resource, Buffer>();
function resourceBody(r: Resource): Buffer {
  let b = resourceBodies.get(r);
  if (b === undefined) {
    const w = new Writer(Buffer.alloc(attributesSize(r.attributes, 1)));
    writeAttributes(w, r.attributes, 1);
    b = w.buf;
    resourceBodies.set(r, b);
  }
  return b;
}

/** InstrumentationScope { name = 1; version = 2 } */
function scopeBodySize(s: ReadableSpan['instrumentationScope']): number {
  return lenField(utf8Length(s.name)) + (s.version ? lenField(utf8Length(s.version)) : 0);
}

/** Encoded spans of one resource and scope, each as a ScopeSpans.spans field. */
interface SpanGroup {
  readonly resource: Resource;
  readonly scope: ReadableSpan['instrumentationScope'];
  /** Filled chunks, then the one being filled. */
  readonly chunks: Buffer[];
  /** Bytes used in the last chunk. */
  used: number;
  length: number;
  count: number;
}

/** Spans encoded as they come, waiting to be sent together. */
export interface EncodedBatch {
  readonly groups: readonly SpanGroup[];
  readonly count: number;
}

const CHUNK = 64 * 1024;
/** Room left for a span to be written without measuring it first; a bigger one is measured, then written. */
const HEADROOM = 16 * 1024;

/**
 * Spans are encoded the moment they are added, while their data is fresh
 * in the cache and before it would outlive a garbage collection; the queue
 * holds bytes, not span objects. take() hands the bytes on as a batch.
 *
 * A span is written in one pass: its length prefix gets two bytes (it is
 * almost always 128 to 16383 bytes long) and the body moves if it needs
 * one or three.
 */
export class SpanEncoder {
  /** By resource, then by scope object (Sonde shares one per scope; equal copies just get a ScopeSpans each). */
  private groups = new Map<Resource, Map<ReadableSpan['instrumentationScope'], SpanGroup>>();
  private last: SpanGroup | undefined = undefined;
  private readonly w = new Writer(Buffer.alloc(0));
  count = 0;

  add(s: ReadableSpan): void {
    const g = this.groupOf(s);
    // Against the chunk's own length: one measured for a big span is full already.
    const current = g.chunks[g.chunks.length - 1];
    if (current === undefined || g.used + HEADROOM > current.length) newChunk(g, CHUNK);
    const w = this.w;
    w.buf = g.chunks[g.chunks.length - 1]!;
    w.pos = g.used;
    if (!writeSpanField(w, s)) {
      // Bigger than HEADROOM: a chunk of its own, measured.
      const size = spanSize(s);
      newChunk(g, 1 + varintSize(size) + size);
      w.buf = g.chunks[g.chunks.length - 1]!;
      w.pos = 0;
      w.byte(tag(2, LEN));
      w.varint(size);
      writeSpan(w, s);
    }
    g.length += w.pos - g.used;
    g.used = w.pos;
    g.count++;
    this.count++;
  }

  private groupOf(s: ReadableSpan): SpanGroup {
    const last = this.last;
    if (last !== undefined && last.resource === s.resource && last.scope === s.instrumentationScope) return last;
    let scopes = this.groups.get(s.resource);
    if (!scopes) this.groups.set(s.resource, (scopes = new Map()));
    let g = scopes.get(s.instrumentationScope);
    if (!g) scopes.set(s.instrumentationScope, (g = { resource: s.resource, scope: s.instrumentationScope, chunks: [], used: 0, length: 0, count: 0 }));
    this.last = g;
    return g;
  }

  take(): EncodedBatch {
    const groups: SpanGroup[] = [];
    for (const scopes of this.groups.values()) for (const g of scopes.values()) groups.push(g);
    const batch = { groups, count: this.count };
    this.groups = new Map();
    this.last = undefined;
    this.count = 0;
    return batch;
  }
}

function newChunk(g: SpanGroup, size: number): void {
  const last = g.chunks.length - 1;
  if (last >= 0) g.chunks[last] = g.chunks[last]!.subarray(0, g.used);
  g.chunks.push(Buffer.allocUnsafeSlow(size));
  g.used = 0;
}

/** ScopeSpans.spans = 2 at w.pos, unmeasured; false if it did not fit the buffer (w.pos is then undefined). */
function writeSpanField(w: Writer, s: ReadableSpan): boolean {
  const start = w.pos;
  const buf = w.buf;
  try {
    w.byte(tag(2, LEN));
    w.pos += 2;
    writeSpan(w, s);
  } catch (e) {
    if (e instanceof RangeError) return false;
    throw e;
  }
  if (w.pos > buf.length) return false;
  const body = start + 3;
  const size = w.pos - body;
  if (size < 0x80) {
    buf[start + 1] = size;
    buf.copyWithin(start + 2, body, w.pos);
    w.pos--;
  } else if (size < 0x4000) {
    buf[start + 1] = (size & 0x7f) | 0x80;
    buf[start + 2] = size >> 7;
  } else {
    const shift = varintSize(size) - 2;
    if (w.pos + shift > buf.length) return false;
    buf.copyWithin(body + shift, body, w.pos);
    w.pos = start + 1;
    w.varint(size);
    w.pos += size;
  }
  return true;
}

/** The ExportTraceServiceRequest of a batch: ResourceSpans { resource = 1; scope_spans = 2 }, ScopeSpans { scope = 1; spans = 2 }. */
export function encodeBatch(batch: EncodedBatch): Uint8Array {
  const byResource = new Map<Resource, SpanGroup[]>();
  for (const g of batch.groups) {
    const list = byResource.get(g.resource);
    if (list) list.push(g);
    else byResource.set(g.resource, [g]);
  }
  const scopeSize = (g: SpanGroup): number => lenField(scopeBodySize(g.scope)) + g.length;
  let total = 0;
  const rsSizes = new Map<Resource, number>();
  for (const [resource, groups] of byResource) {
    let rs = lenField(resourceBody(resource).length);
    for (const g of groups) rs += lenField(scopeSize(g));
    rsSizes.set(resource, rs);
    total += lenField(rs);
  }
  const w = new Writer(Buffer.allocUnsafe(total));
  for (const [resource, groups] of byResource) {
    w.byte(tag(1, LEN));
    w.varint(rsSizes.get(resource)!);
    const body = resourceBody(resource);
    w.byte(tag(1, LEN));
    w.varint(body.length);
    w.raw(body);
    for (const g of groups) {
      w.byte(tag(2, LEN));
      w.varint(scopeSize(g));
      w.byte(tag(1, LEN));
      w.varint(scopeBodySize(g.scope));
      w.byte(tag(1, LEN));
      w.string(g.scope.name, utf8Length(g.scope.name));
      if (g.scope.version) {
        w.byte(tag(2, LEN));
        w.string(g.scope.version, utf8Length(g.scope.version));
      }
      for (let i = 0; i < g.chunks.length; i++) w.raw(i === g.chunks.length - 1 ? g.chunks[i]!.subarray(0, g.used) : g.chunks[i]!);
    }
  }
  if (w.pos !== total) throw new Error(`OTLP encoder: measured ${total} bytes, wrote ${w.pos}`);
  return new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.pos);
}

/** One ExportTraceServiceRequest holding the given spans, grouped by resource and scope. */
export function encodeSpans(spans: readonly ReadableSpan[]): Uint8Array {
  const enc = new SpanEncoder();
  for (const s of spans) enc.add(s);
  return encodeBatch(enc.take());
}
