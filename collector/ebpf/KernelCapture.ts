/**
 * The kernel side as userspace sees it: the object of the chosen capture
 * mode, loaded with our settings, its maps, its probes, and the ring
 * buffer reader that hands decoded records on in batches.
 *
 * Two steps so the process filter is filled before any probe fires:
 * `load()` (programs verified, maps exist), then `attach()`.
 */
import { join } from 'node:path';
import { COUNTER_SLOTS, decodeEvent, encodeConfig, Layout, redactExecRecord, type CaptureSettings, type DecodeError, type KernelEvent, type VerdictValue } from './abi.js';
import { BpfObject, type ProgramFailure } from './BpfObject.js';
import type { ModeChoice } from './captureMode.js';
import { errnoError, libbpf } from './libbpf.js';
import { RingBufferReader } from './RingBufferReader.js';
import type { UprobeHost } from '../tls/TlsProbes.js';

export interface CaptureOptions extends CaptureSettings {
  readonly bpfDir: string;
  readonly choice: ModeChoice;
  readonly ringBufferSize: number;
  readonly drainIntervalMs: number;
  /** The kernel sends sendfile through tcp_sendpage (before 6.5). */
  readonly tcpSendpage: boolean;
}

export type EventSink = (events: ReadonlyArray<KernelEvent | DecodeError>) => void;

/** bpf_map_update_elem: only if the key exists. */
const BPF_EXIST = 2;

const SENDPAGE_PROGRAMS = ['sonde_kp_tcp_sendpage', 'sonde_krp_tcp_sendpage', 'sonde_fe_tcp_sendpage', 'sonde_fx_tcp_sendpage'];

/** The object of a capture mode (bpf/Makefile builds one per mode). */
export function objectFor(choice: ModeChoice): string {
  if (choice.mode !== 'tracepoint') return `sonde-${choice.mode}.bpf.o`;
  return choice.socketLookup === 'fd-table' ? 'sonde-syscalls.bpf.o' : 'sonde-socket.bpf.o';
}

/** How a socket is to be copied, as userspace decides it (collector/conn CaptureEntry). */
export interface ConnCapture {
  readonly sock: bigint;
  readonly role: number;
  readonly tls: boolean;
  readonly whole: boolean;
  readonly from: readonly [number | null, number | null];
}

/** A socket's entry in the kernel's conns map, as userspace rewrites it whole. */
function connEntry(role: number, tls: boolean, whole = false): Uint8Array {
  const C = Layout.connInfo;
  const value = new Uint8Array(C.size);
  value[C.role] = role;
  value[C.announced] = 1;
  value[C.tls] = tls ? 1 : 0;
  value[C.whole] = whole ? 1 : 0;
  return value;
}

export class KernelCapture {
  private reader: RingBufferReader | null = null;
  private readonly cpus = libbpf.numPossibleCpus();
  private readonly fds: { verdict: number; conns: number; ports: number; counters: number; events: number; tlsSessions: number };
  private batch: Array<KernelEvent | DecodeError> = [];
  private attachedPrograms: string[] = [];

  private constructor(
    private readonly obj: BpfObject,
    private readonly opts: CaptureOptions,
  ) {
    const fd = (name: string): number => {
      const v = obj.mapFd(name);
      if (v instanceof Error) throw v; // the object is ours: a missing map is a build bug
      return v;
    };
    this.fds = {
      verdict: fd('proc_verdict'),
      conns: fd('conns'),
      ports: fd('open_ports'),
      counters: fd('counters'),
      events: fd('events'),
      tlsSessions: fd('tls_sessions'),
    };
  }

  /** Open, configure and load the object of the chosen mode. Nothing is attached yet. */
  static load(opts: CaptureOptions): KernelCapture | ProgramFailure {
    const path = join(opts.bpfDir, objectFor(opts.choice));
    const obj = BpfObject.open(path);
    if (obj instanceof Error) return { program: '(object)', error: obj };
    const prepared = obj.setRodata(0, encodeConfig(opts)) ?? obj.setMaxEntries('events', opts.ringBufferSize);
    if (prepared) {
      obj.close();
      return { program: '(object)', error: prepared };
    }
    for (const p of SENDPAGE_PROGRAMS) obj.setAutoload(p, opts.tcpSendpage);
    const failure = obj.load();
    if (failure) {
      obj.close();
      return failure;
    }
    return new KernelCapture(obj, opts);
  }

  get mode(): ModeChoice {
    return this.opts.choice;
  }

  get programs(): readonly string[] {
    return this.attachedPrograms;
  }

  /**
   * Attach every probe and start draining into `sink`, one call per batch.
   * `tap`, when given, sees each record's raw bytes first (`sonde record`),
   * with exec records' environments cut to their OTEL_ variables.
   */
  attach(sink: EventSink, tap?: (raw: Uint8Array) => void): ProgramFailure | null {
    const reader = RingBufferReader.open(this.fds.events, this.opts.ringBufferSize, {
      record: (dv, bytes, off, len) => {
        if (tap) tap(redactExecRecord(bytes.subarray(off, off + len)));
        this.batch.push(decodeEvent(dv, bytes, off, len));
      },
      batchEnd: () => this.flush(),
    });
    if (reader instanceof Error) return { program: '(ring buffer)', error: reader };
    const { attached, failed } = this.obj.attachAll();
    if (failed.length > 0) {
      reader.close();
      this.obj.close();
      return failed[0]!;
    }
    this.attachedPrograms = attached;
    this.reader = reader;
    this.sink = sink;
    reader.start(this.opts.drainIntervalMs);
    return null;
  }

  private sink: EventSink = () => {};

  private flush(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.sink(batch);
  }

  /** Drain whatever the kernel has written now. */
  drain(): void {
    this.reader?.drain();
  }

  /** Bytes waiting in the ring buffer. */
  backlog(): number {
    return this.reader?.pendingBytes() ?? 0;
  }

  setVerdict(pid: number, verdict: VerdictValue): Error | null {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, pid, true);
    const rc = libbpf.mapUpdateElem(this.fds.verdict, key, Uint8Array.of(verdict), 0);
    return rc < 0 ? errnoError(`set verdict of pid ${pid}`, rc) : null;
  }

  clearVerdict(pid: number): void {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, pid, true);
    libbpf.mapDeleteElem(this.fds.verdict, key);
  }

  /** Processes selected by the ports they listen or connect on (kernel-side match). */
  setOpenPorts(ports: Iterable<number>): Error | null {
    const key = new Uint8Array(4);
    const dv = new DataView(key.buffer);
    for (const port of ports) {
      dv.setUint32(0, port, true);
      const rc = libbpf.mapUpdateElem(this.fds.ports, key, Uint8Array.of(1), 0);
      if (rc < 0) return errnoError(`select port ${port}`, rc);
    }
    return null;
  }

  /**
   * Copy this socket as userspace now knows it: as TLS plaintext or not;
   * long calls whole or not; and not before these stream positions (body
   * the parser will only count: copying from the next message keeps a
   * message boundary inside a long read visible). Rewrites the kernel's
   * entry, so the role as userspace knows it comes along.
   */
  setCapture(c: ConnCapture): void {
    const C = Layout.connInfo;
    const value = connEntry(c.role, c.tls, c.whole);
    const v = new DataView(value.buffer);
    for (const dir of [0, 1] as const) {
      const from = c.from[dir];
      if (from === null) continue;
      value[C.skipping + dir] = 1;
      v.setUint32(C.skip_seq + 4 * dir, from, true);
    }
    this.writeConn(c.sock, value);
  }

  /**
   * Stop copying this socket's bytes: it is not a protocol we parse. On a
   * TLS connection (`tls`), its plaintext is what is stopped.
   */
  ignoreConnection(sock: bigint, role: number, tls: boolean): void {
    const C = Layout.connInfo;
    const value = connEntry(role, tls);
    value[tls ? C.tls_ignored : C.ignored] = 1;
    this.writeConn(sock, value);
  }

  /** Forget TLS sessions of a process that is gone (the kernel's LRU would, later). */
  forgetTlsSessions(pid: number, sessions: Iterable<bigint>): void {
    const key = new Uint8Array(16);
    const v = new DataView(key.buffer);
    v.setUint32(8, pid, true);
    for (const ssl of sessions) {
      v.setBigUint64(0, ssl, true);
      libbpf.mapDeleteElem(this.fds.tlsSessions, key);
    }
  }

  /** The object's maps by name, for another object to share (the injector: ring, filter, counters). */
  sharedMaps(): Map<string, number> {
    return this.obj.mapFds();
  }

  /** Attaches uprobes to one library file at a time (collector/tls/TlsProbes.ts). */
  get uprobes(): UprobeHost {
    return this.obj;
  }

  private writeConn(sock: bigint, value: Uint8Array): void {
    const key = new Uint8Array(8);
    new DataView(key.buffer).setBigUint64(0, sock, true);
    // BPF_EXIST: a socket the kernel already forgot (closed) stays forgotten.
    libbpf.mapUpdateElem(this.fds.conns, key, value, BPF_EXIST);
  }

  /** The per-CPU counters (enum sonde_counter), summed over CPUs. */
  counters(): number[] {
    const size = Layout.counters.size;
    const value = new Uint8Array(size * this.cpus);
    const v = new DataView(value.buffer);
    const out = new Array<number>(COUNTER_SLOTS).fill(0);
    if (libbpf.mapLookupElem(this.fds.counters, new Uint8Array(4), value) !== 0) return out;
    for (let c = 0; c < this.cpus; c++) {
      for (let i = 0; i < COUNTER_SLOTS; i++) out[i]! += Number(v.getBigUint64(c * size + 8 * i, true));
    }
    return out;
  }

  /** Detach every probe, then hand on what is still in the ring. */
  async detach(): Promise<void> {
    await this.obj.detach();
    this.reader?.stop();
    this.reader?.drain();
  }

  close(): void {
    this.reader?.close();
    this.reader = null;
    this.obj.close();
  }
}
