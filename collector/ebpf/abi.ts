/**
 * The event ABI of bpf/sonde.h, mirrored field by field (ARCHITECTURE
 * decision 4). test/unit/abi.test.ts checks every offset here against the
 * BTF of the compiled objects.
 */

import { otelEntries, otelEnv, type OtelEnv } from '../discovery/environ.js';
import { HandleCache } from './handleCache.js';

export const SONDE_MAX_CAPTURE = 16384;
export const SONDE_EXEC_FILENAME_MAX = 256;
export const SONDE_EXEC_ENV_MAX = 16384;

export const EventType = {
  Data: 1,
  ConnOpen: 2,
  ConnState: 3,
  ProcExec: 4,
  ProcExit: 5,
  ProcPort: 6,
  TlsBind: 7,
  ProcLibs: 8,
  Inject: 9,
  NodeAsync: 10,
} as const;

/** What a Node.js async record reports (enum sonde_node_async_kind). */
export const NodeAsyncKind = { ScopeEnter: 0, Resource: 1 } as const;
export type NodeAsyncKindValue = (typeof NodeAsyncKind)[keyof typeof NodeAsyncKind];

export const Direction = { Egress: 0, Ingress: 1 } as const;
/** Self: Sonde's own connect, reported so its peer's spans can be dropped. */
export const Role = { Unknown: 0, Client: 1, Server: 2, Self: 3 } as const;
export type RoleValue = (typeof Role)[keyof typeof Role];
export const Source = { Syscall: 0, Kprobe: 1, Socket: 2, Tls: 3 } as const;
export const DataFlags = { Eof: 1, ReadFailed: 2 } as const;
export const Verdict = { Ignore: 0, Trace: 1, Pending: 2 } as const;
export type VerdictValue = (typeof Verdict)[keyof typeof Verdict];

/** Fields of struct sonde_counters (enum sonde_counter), one struct per CPU. */
export const Counter = {
  DropData: 0,
  DropControl: 1,
  DropInflight: 2,
  DataRecords: 3,
  DataBytes: 4,
  CapturedBytes: 5,
  IgnoredConn: 6,
  TlsCiphertext: 7,
  Injected: 8,
  InjectPresent: 9,
  InjectSkipped: 10,
  InjectFailed: 11,
  InjectUntracked: 12,
} as const;
export const COUNTER_SLOTS = 13;

/** Bytes of the header inject.bpf.c writes (SONDE_TRACEPARENT_LEN). */
export const SONDE_TRACEPARENT_LEN = 70;

/** TCP states (include/net/tcp_states.h) that state records carry. */
export const TcpState = { Established: 1, FinWait1: 4, Close: 7, CloseWait: 8 } as const;

/** Byte offsets of every struct member, as in bpf/sonde.h. */
export const Layout = {
  header: { size: 24, ts: 0, pid: 8, tid: 12, type: 16 },
  tuple: { size: 40, saddr: 0, daddr: 16, sport: 32, dport: 34, family: 36 },
  data: {
    sock: 24, ts_end: 32, seq: 40, len: 44, captured: 48, offset: 52,
    direction: 56, role: 57, source: 58, flags: 59, user_sp: 60, tls: 64, data: 72,
  },
  tlsBind: { size: 40, sock: 24, tls: 32 },
  conn: { size: 80, sock: 24, tuple: 32, role: 72 },
  state: { size: 40, sock: 24, old_state: 32, new_state: 36 },
  proc: { size: 48, ppid: 24, verdict: 28, port: 30, comm: 32 },
  exec: { size: 16696, filename_len: 48, env_len: 52, filename: 56, env: 312 },
  config: { size: 16, capture_size: 0, self_pid: 4, wakeup_bytes: 8, default_verdict: 12 },
  connInfo: { size: 16, role: 0, ignored: 1, announced: 2, skipping: 3, tls: 5, tls_ignored: 6, whole: 7, skip_seq: 8 },
  counters: { size: 104, n: 0 },
  inject: { size: 104, tuple: 24, trace_id: 64, span_id: 80, at: 88, len: 92, msg_size: 96 },
  nodeAsync: { size: 56, async_id: 24, scope: 32, sp: 40, kind: 48 },
} as const;

/** Kernel monotonic ns as a number: exact for 104 days of uptime, then to within a few ns. */
export function readU64(v: DataView, off: number): number {
  return v.getUint32(off + 4, true) * 4294967296 + v.getUint32(off, true);
}

export interface DataEvent {
  readonly type: typeof EventType.Data;
  readonly ts: number;
  readonly tsEnd: number;
  readonly pid: number;
  readonly tid: number;
  readonly sock: bigint;
  readonly length: number;
  /** TCP sequence number of the chunk's first byte (u32, wraps). */
  readonly seq: number;
  /** The captured bytes start this far into the chunk (body skipped on our hint). */
  readonly offset: number;
  readonly direction: number;
  readonly role: number;
  readonly source: number;
  readonly flags: number;
  /** TLS records (source Tls): the library's session pointer; 0n otherwise. */
  readonly tls: bigint;
  /** Low 32 bits of the thread's user stack pointer in the call; 0 or absent: unknown. */
  readonly userSp?: number;
  readonly data: Uint8Array;
}

/** A TLS session of process `pid` runs over socket `sock`. */
export interface TlsBindEvent {
  readonly type: typeof EventType.TlsBind;
  readonly ts: number;
  readonly pid: number;
  readonly sock: bigint;
  readonly tls: bigint;
}

export interface ConnOpenEvent {
  readonly type: typeof EventType.ConnOpen;
  readonly ts: number;
  readonly pid: number;
  readonly sock: bigint;
  readonly tuple: Uint8Array;
  readonly role: number;
}

export interface ConnStateEvent {
  readonly type: typeof EventType.ConnState;
  readonly ts: number;
  readonly sock: bigint;
  readonly oldState: number;
  readonly newState: number;
}

export interface ProcEvent {
  readonly type: typeof EventType.ProcExec | typeof EventType.ProcExit | typeof EventType.ProcPort | typeof EventType.ProcLibs;
  readonly ts: number;
  readonly pid: number;
  readonly ppid: number;
  readonly verdict: number;
  /** ProcPort: the selected local port the process listened or connected on. */
  readonly port: number;
  readonly comm: string;
  /** ProcExec: what the kernel saw at exec, for a process gone before /proc is read. */
  readonly exec?: ExecFacts;
}

/** Of a new image: its file name, and the OpenTelemetry variables of its environment (nothing else is kept). */
export interface ExecFacts extends OtelEnv {
  readonly filename: string;
}

/**
 * The kernel wrote `length` bytes of "traceparent: 00-<traceId>-<spanId>-01\r\n"
 * at byte `at` of a request process `pid` (thread `tid`) was sending on
 * the connection `tuple` names; that send's data records follow, without it.
 */
export interface InjectEvent {
  readonly type: typeof EventType.Inject;
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly tuple: Uint8Array;
  readonly traceId: Uint8Array;
  readonly spanId: Uint8Array;
  readonly at: number;
  readonly length: number;
  /** Bytes of the send as the process wrote it. */
  readonly size: number;
}

/**
 * Thread `tid` of the Node.js process `pid` opened the callback scope at
 * `scope` into JS for the async resource `asyncId`, or made the resource
 * `asyncId` (bpf/node.bpf.c); `sp` is its stack pointer then. An id is a
 * double; here it is that number. Addresses are exact (user addresses are
 * below 2^53).
 */
export interface NodeAsyncEvent {
  readonly type: typeof EventType.NodeAsync;
  readonly ts: number;
  readonly pid: number;
  readonly tid: number;
  readonly kind: NodeAsyncKindValue;
  readonly asyncId: number;
  readonly scope: number;
  readonly sp: number;
}

export type KernelEvent = DataEvent | ConnOpenEvent | ConnStateEvent | ProcEvent | TlsBindEvent | InjectEvent | NodeAsyncEvent;

/** Why a record could not be decoded: the ring holds it, but not as we know it. */
export interface DecodeError {
  readonly type: 'invalid';
  readonly reason: string;
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();

const ARENA_BYTES = 256 * 1024;

/**
 * Where payloads are copied out of the ring: views into shared slabs
 * rather than an ArrayBuffer each, whose allocation, external-memory
 * accounting and sweeping cost more than the copy itself at tens of
 * thousands of records a second. A slab is freed once no view of it is
 * left; a full one is simply replaced.
 */
export class PayloadArena {
  private slab = new Uint8Array(ARENA_BYTES);
  private used = 0;

  copy(src: Uint8Array, from: number, to: number): Uint8Array {
    const n = to - from;
    if (n > ARENA_BYTES / 4) return src.slice(from, to);
    if (this.used + n > ARENA_BYTES) {
      this.slab = new Uint8Array(ARENA_BYTES);
      this.used = 0;
    }
    const at = this.used;
    this.slab.set(src.subarray(from, to), at);
    // Keep views 8-aligned, as the ring keeps records.
    this.used = (at + n + 7) & ~7;
    return this.slab.subarray(at, at + n);
  }
}

const defaultArena = new PayloadArena();
/** Data records' socket and TLS handles: the same few, record after record. */
const handles = new HandleCache();

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return Buffer.from(bytes.buffer, bytes.byteOffset, end < 0 ? bytes.length : end).toString('latin1');
}

/**
 * Decode one record of `len` bytes at `off` in `bytes` (a view of the ring).
 * Payload and tuple bytes are copied, so the ring slot can be released as
 * soon as this returns.
 */
export function decodeEvent(view: DataView, bytes: Uint8Array, off: number, len: number, arena = defaultArena): KernelEvent | DecodeError {
  if (len < Layout.header.size) return { type: 'invalid', reason: `record of ${len} bytes` };
  const type = bytes[off + Layout.header.type];
  const ts = readU64(view, off + Layout.header.ts);
  const pid = view.getUint32(off + Layout.header.pid, true);
  switch (type) {
    case EventType.Data: {
      const L = Layout.data;
      const captured = view.getUint32(off + L.captured, true);
      if (L.data + captured > len || captured > SONDE_MAX_CAPTURE) {
        return { type: 'invalid', reason: `data record claims ${captured} bytes in ${len}` };
      }
      return {
        type: EventType.Data,
        ts,
        tsEnd: readU64(view, off + L.ts_end),
        pid,
        tid: view.getUint32(off + Layout.header.tid, true),
        sock: handles.read(view, off + L.sock),
        length: view.getUint32(off + L.len, true),
        seq: view.getUint32(off + L.seq, true),
        offset: view.getUint32(off + L.offset, true),
        direction: bytes[off + L.direction]!,
        role: bytes[off + L.role]!,
        source: bytes[off + L.source]!,
        flags: bytes[off + L.flags]!,
        tls: handles.read(view, off + L.tls),
        userSp: view.getUint32(off + L.user_sp, true),
        data: captured === 0 ? EMPTY : arena.copy(bytes, off + L.data, off + L.data + captured),
      };
    }
    case EventType.ConnOpen: {
      const L = Layout.conn;
      if (len < L.size) return { type: 'invalid', reason: `open record of ${len} bytes` };
      return {
        type: EventType.ConnOpen,
        ts,
        pid,
        sock: view.getBigUint64(off + L.sock, true),
        tuple: bytes.slice(off + L.tuple, off + L.tuple + Layout.tuple.size),
        role: bytes[off + L.role]!,
      };
    }
    case EventType.ConnState: {
      const L = Layout.state;
      if (len < L.size) return { type: 'invalid', reason: `state record of ${len} bytes` };
      return {
        type: EventType.ConnState,
        ts,
        sock: view.getBigUint64(off + L.sock, true),
        oldState: view.getInt32(off + L.old_state, true),
        newState: view.getInt32(off + L.new_state, true),
      };
    }
    case EventType.ProcExec: {
      const proc = decodeProc(type, view, bytes, off, len, ts, pid);
      if (proc.type === 'invalid' || len < Layout.exec.env) return proc;
      const exec = decodeExec(view, bytes, off, len);
      return 'reason' in exec ? exec : { ...proc, exec };
    }
    case EventType.TlsBind: {
      const L = Layout.tlsBind;
      if (len < L.size) return { type: 'invalid', reason: `TLS bind record of ${len} bytes` };
      return { type: EventType.TlsBind, ts, pid, sock: view.getBigUint64(off + L.sock, true), tls: view.getBigUint64(off + L.tls, true) };
    }
    case EventType.Inject: {
      const L = Layout.inject;
      if (len < L.size) return { type: 'invalid', reason: `inject record of ${len} bytes` };
      return {
        type: EventType.Inject,
        ts,
        pid,
        tid: view.getUint32(off + Layout.header.tid, true),
        tuple: bytes.slice(off + L.tuple, off + L.tuple + Layout.tuple.size),
        traceId: bytes.slice(off + L.trace_id, off + L.trace_id + 16),
        spanId: bytes.slice(off + L.span_id, off + L.span_id + 8),
        at: view.getUint32(off + L.at, true),
        length: view.getUint32(off + L.len, true),
        size: view.getUint32(off + L.msg_size, true),
      };
    }
    case EventType.NodeAsync: {
      const L = Layout.nodeAsync;
      if (len < L.size) return { type: 'invalid', reason: `Node.js async record of ${len} bytes` };
      const kind = view.getUint8(off + L.kind);
      if (kind > NodeAsyncKind.Resource) return { type: 'invalid', reason: `Node.js async record of kind ${kind}` };
      return {
        type: EventType.NodeAsync,
        ts,
        pid,
        tid: view.getUint32(off + Layout.header.tid, true),
        kind: kind as NodeAsyncKindValue,
        asyncId: view.getFloat64(off + L.async_id, true),
        scope: readU64(view, off + L.scope),
        sp: readU64(view, off + L.sp),
      };
    }
    case EventType.ProcExit:
    case EventType.ProcPort:
    case EventType.ProcLibs:
      return decodeProc(type, view, bytes, off, len, ts, pid);
    default:
      return { type: 'invalid', reason: `unknown record type ${String(type)}` };
  }
}

function decodeProc(type: ProcEvent['type'], view: DataView, bytes: Uint8Array, off: number, len: number, ts: number, pid: number): ProcEvent | DecodeError {
  const L = Layout.proc;
  if (len < L.size) return { type: 'invalid', reason: `process record of ${len} bytes` };
  return {
    type,
    ts,
    pid,
    ppid: view.getUint32(off + L.ppid, true),
    verdict: bytes[off + L.verdict]!,
    port: view.getUint16(off + L.port, true),
    comm: cString(bytes.subarray(off + L.comm, off + L.comm + 16)),
  };
}

/** The tail of an exec record; the environment is read for its OTEL_ variables and dropped. */
function decodeExec(view: DataView, bytes: Uint8Array, off: number, len: number): ExecFacts | DecodeError {
  const L = Layout.exec;
  const nameLen = view.getUint16(off + L.filename_len, true);
  const envLen = view.getUint32(off + L.env_len, true);
  if (nameLen > SONDE_EXEC_FILENAME_MAX || envLen > SONDE_EXEC_ENV_MAX || L.env + envLen > len) {
    return { type: 'invalid', reason: `exec record claims ${nameLen}+${envLen} bytes in ${len}` };
  }
  return {
    filename: utf8.decode(bytes.subarray(off + L.filename, off + L.filename + nameLen)),
    ...otelEnv(utf8.decode(bytes.subarray(off + L.env, off + L.env + envLen))),
  };
}

/**
 * An exec record as `sonde record` may keep it: the environment cut down
 * to the OTEL_ variables (a recording is shared in bug reports; the rest
 * of an environment is where secrets live). Other records come back as
 * they are.
 */
export function redactExecRecord(record: Uint8Array): Uint8Array {
  const L = Layout.exec;
  if (record.length < L.env || record[Layout.header.type] !== EventType.ProcExec) return record;
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const envLen = Math.min(view.getUint32(L.env_len, true), record.length - L.env);
  const kept = Buffer.from(otelEntries(utf8.decode(record.subarray(L.env, L.env + envLen))).join('\0'));
  const out = new Uint8Array(L.env + kept.length);
  out.set(record.subarray(0, L.env));
  out.set(kept, L.env);
  new DataView(out.buffer).setUint32(L.env_len, kept.length, true);
  return out;
}

export interface CaptureSettings {
  readonly captureSize: number;
  readonly selfPid: number;
  readonly wakeupBytes: number;
  readonly defaultVerdict: VerdictValue;
}

/** struct sonde_config, as bytes for the object's .rodata. */
export function encodeConfig(s: CaptureSettings): Uint8Array {
  const L = Layout.config;
  const buf = new Uint8Array(L.size);
  const v = new DataView(buf.buffer);
  v.setUint32(L.capture_size, s.captureSize, true);
  v.setUint32(L.self_pid, s.selfPid, true);
  v.setUint32(L.wakeup_bytes, s.wakeupBytes, true);
  v.setUint8(L.default_verdict, s.defaultVerdict);
  return buf;
}
