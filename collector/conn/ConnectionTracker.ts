/**
 * One record per connection (keyed by the kernel's struct sock address):
 * addresses, pid, role, which protocol its bytes speak, and that protocol's
 * parser. Kernel records go in; transactions, with the connection they
 * happened on, come out, plus the connections not worth capturing (so the
 * kernel can stop copying them).
 *
 * Bounded (ARCHITECTURE decision 6): at most `maxConnections` entries, the
 * oldest evicted first; idle ones dropped after `idleTimeoutNs`; every
 * eviction counted.
 */
import { DataFlags, Direction, Role, Source, TcpState, type ConnOpenEvent, type ConnStateEvent, type DataEvent, type InjectEvent, type NodeAsyncEvent, type RoleValue, type TlsBindEvent } from '../ebpf/abi.js';
import { detectProtocol } from '../../protocols/detect.js';
import { Http1Parser } from '../../protocols/http1/Http1Parser.js';
import { Http2Parser } from '../../protocols/http2/Http2Parser.js';
import type { Chunk, ConnectionParser, FlowDirection, HttpTransaction, ParseError, RequestStart } from '../../protocols/types.js';
import { decodeEndpoints, type Endpoints } from './endpoints.js';
import { AsyncTies, type Work } from './AsyncTies.js';
import { exchangeKey, pairKey, tupleKey } from './exchanges.js';
import { ProxyTies } from './ProxyTies.js';
import { ThreadTies } from './ThreadTies.js';
import { TlsSessions } from './TlsSessions.js';

export interface TrackerLimits {
  readonly maxConnections: number;
  readonly idleTimeoutNs: number;
  /** Bytes looked at before deciding a connection is not HTTP. */
  readonly maxDetectBytes: number;
  /** Closed connections stay this long for records still in flight. */
  readonly closeGraceNs: number;
  /**
   * Ask the kernel to skip a body only when more than this much of it is
   * still to come (the capture size: less fits in the copied prefix anyway).
   */
  readonly skipHintBytes: number;
  /** TLS sessions whose plaintext waits for the socket under it (Node.js writes before it sends). */
  readonly maxUntiedSessions: number;
  /** Records kept per such session. */
  readonly maxUntiedRecords: number;
}

export const DEFAULT_TRACKER_LIMITS: TrackerLimits = {
  maxConnections: 32768,
  idleTimeoutNs: 300e9,
  maxDetectBytes: 256 * 1024,
  closeGraceNs: 5e9,
  skipHintBytes: 4096,
  maxUntiedSessions: 1024,
  maxUntiedRecords: 64,
};

/** A transaction and the connection it was seen on. */
export interface ObservedTransaction {
  readonly tx: HttpTransaction;
  /** The connection (kernel struct sock address). */
  readonly sock: bigint;
  readonly pid: number;
  readonly role: 'client' | 'server';
  readonly endpoints: Endpoints;
  /** Seen as plaintext of a TLS session (url.scheme https). */
  readonly tls: boolean;
  /**
   * Names this request the same way at both ends of its connection: the
   * client and server addresses, and the request's stream position (TCP
   * sequence number, or TLS plaintext position) or HTTP/2 stream.
   * Undefined when the position is not known.
   */
  readonly exchange: string | undefined;
  /** Sonde follows the other end of this connection too: a traced process on this host. */
  readonly mirrored: boolean;
}

/** A request whose head was just read, where its connection stands. */
export interface StartedRequest {
  /** Its transaction will carry this very object (HttpTransaction.start). */
  readonly req: RequestStart;
  readonly role: 'client' | 'server';
  /** As ObservedTransaction's; for a server request, set only when its client end is traced too. */
  readonly exchange: string | undefined;
  /**
   * A client request made on a thread that is serving one request, in a
   * process that serves one request per thread: that request.
   */
  readonly servedBy: RequestStart | undefined;
  /** A server request read by a thread that serves only its connection: calls it makes may be tied to it. */
  readonly tieable: boolean;
}

export interface IgnoreRequest {
  readonly sock: bigint;
  readonly role: RoleValue;
  /** A TLS connection: it is its plaintext the kernel stops copying. */
  readonly tls: boolean;
}

/**
 * How the kernel should copy a socket from now on: its entry in the
 * kernel's conns map, which userspace rewrites whole.
 */
export interface CaptureEntry {
  readonly sock: bigint;
  readonly role: RoleValue;
  /** A TLS session runs over it: its plaintext is followed, and positions are the plaintext's. */
  readonly tls: boolean;
  /** Copy long calls whole (HTTP/2: one call carries frames of many streams). */
  readonly whole: boolean;
  /** Stream positions, by kernel direction (egress, ingress), before which bytes are not copied; null: copy everything. */
  readonly from: readonly [number | null, number | null];
}

export interface TrackerOutput {
  readonly transactions: ObservedTransaction[];
  readonly errors: Array<ParseError & { protocol: string }>;
  /** Connections the kernel may stop copying. */
  readonly ignore: IgnoreRequest[];
  /** Connections the kernel should copy differently: TLS found, HTTP/2 found, bodies it need not copy. */
  readonly capture: CaptureEntry[];
  /** Requests begun, in order: each before its own transaction, and before any call made while serving it. */
  readonly started: StartedRequest[];
}

export interface TrackerStats {
  opened: number;
  evicted: number;
  idleClosed: number;
  ignored: number;
  /** Requests dropped with their connection before a response came. */
  abandonedRequests: number;
  /** Bytes moved where no record reported them (lost records, paths no probe sees). */
  missingBytes: number;
  /** Connections whose addresses never arrived (their open record was lost). */
  unknownEndpoints: number;
  /** Connections found to carry TLS. */
  tlsConnections: number;
  /** Ciphertext records that arrived before the kernel knew their socket was TLS (not parsed). */
  ciphertextRecords: number;
  /** TLS plaintext records dropped because their socket never became known. */
  untiedTlsRecords: number;
  /** Requests the kernel wrote a traceparent into, matched to their data records. */
  injected: number;
  /** Injections no data record matched (connection unknown, record lost): that stream may show a gap. */
  injectUnmatched: number;
}

/**
 * A traceparent the kernel wrote into a send on this connection, waiting
 * for that send's data records (which carry the process's bytes only).
 */
interface PendingInject {
  readonly tid: number;
  /** Where in the send's bytes the header went, counted from the record now expected. */
  at: number;
  /** The header's bytes, as the kernel wrote them. */
  readonly bytes: Uint8Array;
}

type Protocol = 'detecting' | 'http1' | 'http2' | 'ignored';

interface Connection {
  readonly sock: bigint;
  readonly endpoints: Endpoints;
  pid: number;
  role: RoleValue;
  protocol: Protocol;
  parser: ConnectionParser | null;
  /** Bytes seen while detecting. */
  detectBytes: number;
  /** A too-short first chunk, kept to decide with the next one. */
  held: { direction: number; chunk: Chunk; seq: number } | null;
  lastSeen: number;
  closedAt: number;
  /** Next expected TCP sequence number, by kernel direction; -1 before the first record. */
  next: [number, number];
  /** Capture-from sequence numbers last sent to the kernel, by direction. */
  from: [number | null, number | null];
  /** Carries a TLS session: only its plaintext records are used, positions are the plaintext's. */
  tls: boolean;
  /** Stream position of the first byte the parser got, by kernel direction; null before. */
  flowBase: [number | null, number | null];
  /** The thread of the last record, by kernel direction. */
  tids: [number, number];
  /** A traceparent the kernel wrote into the send whose records come next. */
  inject: PendingInject | null;
  /** tupleKey of this end, and of the other (its mirror); undefined when the addresses are not known. */
  readonly tuple: string | undefined;
  readonly mirrorTuple: string | undefined;
  /**
   * pairKey of this connection with this end as the client, and as the
   * server, made when first needed: its endpoints never change, its role
   * may, and a new key string per drain was ~100 bytes per request.
   */
  pairs: [string | undefined, string | undefined];
  /** The user stack pointer (low 32 bits) of the last record sent, 0 if unknown: where in its thread's stack the send was made. */
  sentSp: number;
  /** A client connection: the request its latest request was sent for (Node.js async context reads its answers with it). */
  sentFor: Work<RequestStart> | undefined;
}

/** Addresses of a connection whose open record was lost. */
const UNKNOWN_ENDPOINTS: Endpoints = {
  networkType: 'ipv4',
  local: { address: '', port: 0 },
  remote: { address: '', port: 0 },
};

/** The connection's pairKey, this end being the client or the server. */
function pairOf(conn: Connection, asClient: boolean): string {
  const i = asClient ? 0 : 1;
  const { local, remote } = conn.endpoints;
  return (conn.pairs[i] ??= asClient ? pairKey(local, remote) : pairKey(remote, local));
}

/** b - a on TCP sequence numbers, as a signed 32-bit distance. */
const seqDistance = (a: number, b: number): number => (b - a) | 0;

const toServer = (role: RoleValue, direction: number): FlowDirection =>
  (role === Role.Server) === (direction === Direction.Ingress) ? 'toServer' : 'toClient';

export class ConnectionTracker {
  private readonly conns = new Map<bigint, Connection>();
  /** Connections with known addresses, by "local|remote": how one end finds the other. */
  private readonly byTuple = new Map<string, bigint>();
  /**
   * Injections on connections whose open record has not come yet (the
   * kernel announces a socket with its first data record, which follows
   * the injection), by tupleKey. Bounded: the oldest go first, counted.
   */
  private readonly injectsAhead = new Map<string, PendingInject>();
  private readonly ties: ThreadTies;
  private readonly proxies = new ProxyTies();
  private readonly async = new AsyncTies<RequestStart>((sock) => this.workOfRead(sock));
  private out: TrackerOutput = { transactions: [], errors: [], ignore: [], capture: [], started: [] };
  private readonly sessions: TlsSessions;
  private readonly counts: TrackerStats = {
    opened: 0,
    evicted: 0,
    idleClosed: 0,
    ignored: 0,
    abandonedRequests: 0,
    missingBytes: 0,
    unknownEndpoints: 0,
    tlsConnections: 0,
    ciphertextRecords: 0,
    untiedTlsRecords: 0,
    injected: 0,
    injectUnmatched: 0,
  };

  constructor(private readonly limits: TrackerLimits = DEFAULT_TRACKER_LIMITS) {
    this.ties = new ThreadTies(limits.maxConnections);
    this.sessions = new TlsSessions({ maxSessions: limits.maxUntiedSessions, maxRecords: limits.maxUntiedRecords, maxWaitNs: limits.closeGraceNs });
  }

  /** Counters, with the TLS plaintext dropped for want of its socket. */
  get stats(): Readonly<TrackerStats> {
    this.counts.untiedTlsRecords = this.sessions.dropped;
    return this.counts;
  }

  get size(): number {
    return this.conns.size;
  }

  /** The kernel's first word on a socket: its addresses. Again for the same sock: it was recycled. */
  onOpen(ev: ConnOpenEvent): void {
    const old = this.conns.get(ev.sock);
    if (old) this.release(old);
    this.add(ev.sock, decodeEndpoints(ev.tuple), ev.pid, ev.role as RoleValue, ev.ts);
  }

  onData(ev: DataEvent): void {
    if (ev.source === Source.Tls) {
      this.onTlsData(ev);
      return;
    }
    const conn = this.connOf(ev);
    if (conn.tls && !(ev.flags & DataFlags.Eof)) {
      this.counts.ciphertextRecords++;
      return;
    }
    this.use(conn, conn.inject !== null && ev.direction === Direction.Egress ? this.withInjected(conn, ev) : ev);
  }

  /**
   * The kernel wrote a traceparent into a send on this connection (sk_msg,
   * inside the same sendmsg, so before its data records). The connection
   * is found by its addresses, as its open record named them.
   */
  onInject(ev: InjectEvent): void {
    const { local, remote } = decodeEndpoints(ev.tuple);
    const key = tupleKey(local, remote);
    const sock = this.byTuple.get(key);
    const conn = sock === undefined ? undefined : this.conns.get(sock);
    if (conn?.tls) {
      this.counts.injectUnmatched++;
      return;
    }
    if (conn?.inject) this.counts.injectUnmatched++;
    const header = `traceparent: 00-${Buffer.from(ev.traceId).toString('hex')}-${Buffer.from(ev.spanId).toString('hex')}-01\r\n`;
    const bytes = Buffer.from(header, 'latin1');
    if (bytes.length !== ev.length) {
      this.counts.injectUnmatched++;
      return;
    }
    const pending = { tid: ev.tid, at: ev.at, bytes };
    if (conn !== undefined) {
      conn.inject = pending;
      return;
    }
    if (this.injectsAhead.size >= MAX_INJECTS_AHEAD && !this.injectsAhead.has(key)) {
      this.injectsAhead.delete(this.injectsAhead.keys().next().value!);
      this.counts.injectUnmatched++;
    }
    this.injectsAhead.set(key, pending);
  }

  /**
   * A record of the send the kernel injected into, as the TCP stream holds
   * it: the header spliced in where the kernel put it, so the parser sees
   * the request the server got (its traceparent names the CLIENT span),
   * and the stream positions stay true. The kernel reports each record's
   * position from the stream's end after the call, so records of that
   * call before the header come `length` bytes late: moved back here, so
   * no false gap shows. A record that does not fit (another thread's, or
   * not where the last one ended) drops the injection, counted.
   */
  private withInjected(conn: Connection, ev: DataEvent): DataEvent {
    const inj = conn.inject!;
    const n = inj.bytes.length;
    const seq = (ev.seq - n) >>> 0;
    const next = conn.next[Direction.Egress]!;
    if (ev.tid !== inj.tid || (next >= 0 && seq !== next) || ev.flags & DataFlags.Eof) {
      conn.inject = null;
      this.counts.injectUnmatched++;
      return ev;
    }
    if (inj.at > ev.length) {
      // The header goes into a later record of this send.
      inj.at -= ev.length;
      return { ...ev, seq };
    }
    conn.inject = null;
    const at = inj.at - ev.offset;
    if (ev.offset > inj.at || (at > 0 && at <= ev.data.length && ev.data[at - 1] !== 0x0a)) {
      this.counts.injectUnmatched++;
      return { ...ev, seq, length: ev.length + n };
    }
    this.counts.injected++;
    // Bytes not copied stay not copied: the header goes in only where the copy reaches.
    if (at > ev.data.length) return { ...ev, seq, length: ev.length + n };
    const data = new Uint8Array(ev.data.length + n);
    data.set(ev.data.subarray(0, at));
    data.set(inj.bytes, at);
    data.set(ev.data.subarray(at), at + n);
    return { ...ev, seq, length: ev.length + n, data };
  }

  /** The Node.js runtime opened a callback into JavaScript, or made an async resource (AsyncTies). */
  onNodeAsync(ev: NodeAsyncEvent): void {
    this.async.event(ev);
  }

  /** Node.js async context stats. */
  get asyncStats(): AsyncTies<RequestStart>['stats'] {
    return this.async.stats;
  }

  /** Plaintext of a TLS session: on its socket, once that is known. */
  private onTlsData(ev: DataEvent): void {
    this.sessions.note(ev.pid, ev.tls);
    if (ev.sock === 0n) {
      this.sessions.hold(ev);
      return;
    }
    const conn = this.connOf(ev);
    if (!conn.tls) this.becomeTls(conn);
    this.use(conn, ev);
  }

  /** The kernel tied a TLS session to its socket: the plaintext that waited goes there. */
  onTlsBind(ev: TlsBindEvent): void {
    this.sessions.note(ev.pid, ev.tls);
    const conn = this.conns.get(ev.sock);
    if (conn && !conn.tls) this.becomeTls(conn);
    for (const rec of this.sessions.release(ev.pid, ev.tls)) this.onTlsData({ ...rec, sock: ev.sock });
  }

  /** Sessions of a process that exited, forgotten here; the kernel should drop them too. */
  forgetProcess(pid: number): bigint[] {
    this.proxies.forgetProcess(pid);
    this.async.forgetProcess(pid);
    return this.sessions.forget(pid);
  }

  /**
   * The socket carries TLS: what was seen of it (the handshake, perhaps
   * judged not HTTP) is dropped, and its plaintext starts afresh.
   */
  private becomeTls(conn: Connection): void {
    if (conn.parser) this.counts.abandonedRequests += conn.parser.pending;
    conn.tls = true;
    conn.protocol = 'detecting';
    conn.parser = null;
    conn.detectBytes = 0;
    conn.held = null;
    conn.next = [-1, -1];
    conn.from = [null, null];
    conn.flowBase = [null, null];
    this.counts.tlsConnections++;
    this.recapture(conn);
  }

  /** Tell the kernel how to copy the connection now. */
  private recapture(conn: Connection): void {
    this.out.capture.push({
      sock: conn.sock,
      role: conn.role,
      tls: conn.tls,
      whole: conn.protocol === 'http2',
      from: [conn.from[0] ?? null, conn.from[1] ?? null],
    });
  }

  private connOf(ev: DataEvent): Connection {
    let conn = this.conns.get(ev.sock);
    if (!conn) {
      this.counts.unknownEndpoints++;
      conn = this.add(ev.sock, UNKNOWN_ENDPOINTS, ev.pid, ev.role as RoleValue, ev.ts);
    }
    return conn;
  }

  private use(conn: Connection, ev: DataEvent): void {
    conn.lastSeen = ev.tsEnd;
    conn.pid = ev.pid;
    conn.tids[ev.direction & 1] = ev.tid;
    if (ev.direction === Direction.Ingress) this.async.read(ev.pid, ev.tid, conn.sock);
    else conn.sentSp = ev.userSp ?? 0;
    if (conn.role === Role.Unknown && ev.role !== Role.Unknown) conn.role = ev.role as RoleValue;
    if (conn.protocol === 'ignored') return;

    if (ev.flags & DataFlags.Eof) {
      if (conn.parser && conn.role !== Role.Unknown) {
        conn.parser.end(toServer(conn.role, Direction.Ingress), ev.tsEnd);
        this.collect(conn);
      }
      return;
    }
    this.feed(conn, ev);
  }

  /** Hand a record's bytes on, with the holes left by lost records and skipped bodies. */
  private feed(conn: Connection, ev: DataEvent): void {
    const dir = ev.direction & 1;
    const ahead = conn.next[dir]! >= 0 ? seqDistance(conn.next[dir]!, ev.seq) : 0;
    const hole = ahead > 0 ? ahead : 0;
    conn.next[dir] = (ev.seq + ev.length) >>> 0;
    this.counts.missingBytes += hole;
    if (conn.protocol === 'detecting') {
      // No skip was asked for before a parser existed, so offset is 0 here.
      const first = this.detect(conn, ev.direction, { data: ev.data, length: ev.length, tsFirst: ev.ts, tsLast: ev.tsEnd }, ev.seq);
      if (first === null) return;
      conn.flowBase[dir] ??= (ev.seq - (first.length - ev.length)) >>> 0;
      conn.parser!.push(toServer(conn.role, ev.direction), first);
    } else {
      const parser = conn.parser!;
      const flow = toServer(conn.role, ev.direction);
      const unseen = hole + ev.offset;
      conn.flowBase[dir] ??= (ev.seq - hole) >>> 0;
      if (unseen > 0) parser.push(flow, { data: EMPTY, length: unseen, tsFirst: ev.ts, tsLast: ev.ts });
      parser.push(flow, { data: ev.data, length: ev.length - ev.offset, tsFirst: ev.ts, tsLast: ev.tsEnd });
    }
    if (conn.parser instanceof Http1Parser) this.upgrade(conn, conn.parser);
    this.hint(conn, dir);
    this.collect(conn);
  }

  /** A 101 to "Upgrade: h2c": the connection goes on as HTTP/2, stream 1 answering the upgraded request. */
  private upgrade(conn: Connection, http1: Http1Parser): void {
    const up = http1.takeH2cUpgrade();
    if (up === null) return;
    this.collect(conn);
    const h2 = new Http2Parser({ upgradedRequest: up.request });
    conn.parser = h2;
    conn.protocol = 'http2';
    this.recapture(conn);
    if (up.rest !== null) h2.push('toClient', up.rest);
  }

  /** Ask the kernel to skip the rest of a long body, so a message after it in the same read is copied. */
  private hint(conn: Connection, dir: number): void {
    if (conn.role === Role.Unknown || conn.parser === null) return;
    const skip = conn.parser.skippable(toServer(conn.role, dir));
    if (skip <= this.limits.skipHintBytes) return;
    // Sequence numbers wrap at 2^32: a skip is at most half of that.
    const from = (conn.next[dir]! + Math.min(skip, 0x7fffffff)) >>> 0;
    const last = conn.from[dir];
    if (last !== null && last !== undefined && seqDistance(last, from) <= 0) return;
    conn.from[dir] = from;
    this.recapture(conn);
  }

  onState(ev: ConnStateEvent): void {
    const conn = this.conns.get(ev.sock);
    if (!conn) return;
    // Our own side closing ends what we send. The peer's FIN (CLOSE_WAIT)
    // is not used: it can overtake the last bytes the process has yet to
    // read; a read returning 0 (EOF record) marks that end instead.
    if (ev.newState === TcpState.FinWait1 || ev.newState === TcpState.Close) {
      if (conn.parser && conn.role !== Role.Unknown) {
        conn.parser.end(toServer(conn.role, Direction.Egress), ev.ts);
        if (ev.newState === TcpState.Close) conn.parser.end(toServer(conn.role, Direction.Ingress), ev.ts);
        this.collect(conn);
      }
    }
    if (ev.newState === TcpState.Close) conn.closedAt = ev.ts;
  }

  /** Take the transactions, errors and ignore requests gathered since the last call. */
  drain(): TrackerOutput {
    const out = this.out;
    this.out = { transactions: [], errors: [], ignore: [], capture: [], started: [] };
    return out;
  }

  /** Drop closed connections past their grace and idle ones; `now` is kernel ns. */
  sweep(now: number): void {
    this.sessions.sweep(now);
    for (const conn of this.conns.values()) {
      if (conn.closedAt > 0 && now - conn.closedAt > this.limits.closeGraceNs) {
        this.release(conn);
      } else if (now - conn.lastSeen > this.limits.idleTimeoutNs) {
        this.counts.idleClosed++;
        this.release(conn);
      }
    }
  }

  private add(sock: bigint, endpoints: Endpoints, pid: number, role: RoleValue, ts: number): Connection {
    const known = endpoints.local.port !== 0;
    if (this.conns.size >= this.limits.maxConnections) {
      const oldest = this.conns.values().next().value;
      if (oldest) {
        this.counts.evicted++;
        this.release(oldest);
      }
    }
    const conn: Connection = {
      sock,
      endpoints,
      pid,
      role,
      protocol: 'detecting',
      parser: null,
      detectBytes: 0,
      held: null,
      lastSeen: ts,
      closedAt: 0,
      next: [-1, -1],
      from: [null, null],
      tls: false,
      flowBase: [null, null],
      tids: [0, 0],
      inject: null,
      tuple: known ? tupleKey(endpoints.local, endpoints.remote) : undefined,
      mirrorTuple: known ? tupleKey(endpoints.remote, endpoints.local) : undefined,
      pairs: [undefined, undefined],
      sentFor: undefined,
      sentSp: 0,
    };
    this.conns.set(sock, conn);
    if (conn.tuple !== undefined) {
      this.byTuple.set(conn.tuple, sock);
      const ahead = this.injectsAhead.get(conn.tuple);
      if (ahead !== undefined) {
        this.injectsAhead.delete(conn.tuple);
        conn.inject = ahead;
      }
    }
    this.counts.opened++;
    return conn;
  }

  private release(conn: Connection): void {
    if (conn.parser) this.counts.abandonedRequests += conn.parser.pending;
    this.conns.delete(conn.sock);
    if (conn.tuple !== undefined && this.byTuple.get(conn.tuple) === conn.sock) this.byTuple.delete(conn.tuple);
  }

  /**
   * Decide what the connection speaks from its first bytes. Returns the
   * chunk to hand to the new parser, or null while undecided or not HTTP.
   */
  private detect(conn: Connection, direction: number, first: Chunk, seq: number): Chunk | null {
    conn.detectBytes += first.length;
    let chunk = first;
    const held = conn.held;
    conn.held = null;
    if (held && held.direction === direction) {
      // The held chunk was captured whole, so the two join seamlessly.
      chunk = {
        data: concat(held.chunk.data, first.data),
        length: held.chunk.length + first.length,
        tsFirst: held.chunk.tsFirst,
        tsLast: first.tsLast,
      };
    }
    // Role unknown: accepted, or running before we looked (then frames may come without a preface).
    const verdict = detectProtocol(chunk.data, chunk.data.length === chunk.length, conn.role === Role.Unknown);
    if (verdict === 'more' && chunk.data.length === chunk.length && chunk.length < 64) {
      // A copy: the payload is a view into a shared slab it would keep alive.
      conn.held = { direction, chunk: { ...chunk, data: chunk.data.slice() }, seq: held && held.direction === direction ? held.seq : seq };
      return null;
    }
    if (typeof verdict === 'object') {
      if (conn.role === Role.Unknown) {
        const sendsRequests = verdict.sender === 'client';
        const egress = direction === Direction.Egress;
        conn.role = sendsRequests === egress ? Role.Client : Role.Server;
      }
      const parser = verdict.protocol === 'http1' ? new Http1Parser() : new Http2Parser({ midway: verdict.midway });
      conn.protocol = verdict.protocol;
      conn.parser = parser;
      // Frames of many streams share long calls: the kernel copies them whole.
      if (verdict.protocol === 'http2') this.recapture(conn);
      if (held && held.direction !== direction) {
        conn.flowBase[held.direction & 1] = held.seq;
        parser.push(toServer(conn.role, held.direction), held.chunk);
      }
      return chunk;
    }
    // A connection we saw open must start with HTTP: anything else is not
    // HTTP/1. One that predates us may be mid-body: give it a while.
    if ((conn.role !== Role.Unknown && conn.detectBytes === chunk.length) || conn.detectBytes > this.limits.maxDetectBytes) {
      this.ignore(conn);
    }
    return null;
  }

  /** Stop following a connection: not a protocol we parse, or not one to report. */
  ignoreConnection(sock: bigint): void {
    const conn = this.conns.get(sock);
    if (conn && conn.protocol !== 'ignored') this.ignore(conn);
  }

  private ignore(conn: Connection): void {
    conn.protocol = 'ignored';
    conn.parser = null;
    this.counts.ignored++;
    this.out.ignore.push({ sock: conn.sock, role: conn.role, tls: conn.tls });
  }

  private collect(conn: Connection): void {
    const { transactions, errors, started } = conn.parser!.drain();
    if (transactions.length > 0 || started.length > 0) {
      const isClient = conn.role === Role.Client;
      const mirror = conn.mirrorTuple === undefined ? undefined : this.byTuple.get(conn.mirrorTuple);
      const mirrored = mirror !== undefined && mirror !== conn.sock && this.conns.has(mirror);
      // Only clients, and servers whose client end is traced too, name their exchanges.
      const pair = conn.tuple === undefined || !(isClient || mirrored) ? undefined : pairOf(conn, isClient);
      // Where the client-to-server flow began, as the parser was fed.
      const base = conn.flowBase[isClient ? Direction.Egress : Direction.Ingress];
      for (const req of started) {
        const exchange = pair === undefined ? undefined : exchangeKey(pair, req, base);
        if (!isClient) {
          this.ties.read(conn.pid, conn.tids[Direction.Ingress], conn.sock);
          this.proxies.started(conn.pid, req);
        }
        const servedBy = isClient ? this.servedBy(conn, req) : undefined;
        this.out.started.push({
          tieable: !isClient && this.tieable(conn),
          req,
          role: isClient ? 'client' : 'server',
          exchange,
          servedBy,
        });
      }
      for (const tx of transactions) {
        if (!isClient && tx.start) this.proxies.finished(conn.pid, tx.start);
        this.out.transactions.push({
          tx,
          sock: conn.sock,
          pid: conn.pid,
          role: isClient ? 'client' : 'server',
          endpoints: conn.endpoints,
          tls: conn.tls,
          // A client's exchange frees its entry in TraceGraph; a server's is not needed.
          exchange: isClient && pair !== undefined ? exchangeKey(pair, tx, base) : undefined,
          mirrored,
        });
      }
    }
    for (const e of errors) this.out.errors.push({ ...e, protocol: conn.protocol });
  }

  /**
   * The request being served by the thread that sent this client request,
   * if that thread serves one connection and it has one request unanswered;
   * else the one request of that process it forwards (ProxyTies).
   */
  private servedBy(conn: Connection, req: RequestStart): RequestStart | undefined {
    const tid = conn.tids[Direction.Egress];
    // HTTP/1 only: one send of an HTTP/2 session may carry the streams of calls made for many requests.
    const work = conn.protocol === 'http1' ? this.async.workOf(conn.pid, tid, conn.sentSp) : undefined;
    // Async context names the request; it ties only while that request is still unanswered.
    const byAsync = work !== undefined && this.conns.get(work.sock)?.parser?.inFlight() === work.req ? work : undefined;
    // Answers on this connection are read for the same request (HTTP/1: one at a time).
    conn.sentFor = byAsync;
    if (byAsync !== undefined) return byAsync.req;
    const sock = this.ties.servedBy(conn.pid, tid);
    const byThread = sock === undefined ? undefined : this.conns.get(sock)?.parser?.inFlight();
    return byThread ?? this.proxies.servedBy(conn.pid, req);
  }

  /** Calls made while serving this server connection's new request may be tied to it: by its thread, or by Node.js async context. */
  private tieable(conn: Connection): boolean {
    return this.ties.servedBy(conn.pid, conn.tids[Direction.Ingress]) === conn.sock || this.async.follows(conn.pid, conn.tids[Direction.Ingress]);
  }

  /**
   * What a connection whose bytes were just read is serving: a server
   * connection, its one unanswered request; a client connection, the
   * request its latest request was sent for.
   */
  private workOfRead(sock: bigint): Work<RequestStart> | undefined {
    const conn = this.conns.get(sock);
    if (conn === undefined || conn.parser === null) return undefined;
    if (conn.role === Role.Client) return conn.sentFor;
    if (conn.role !== Role.Server) return undefined;
    const req = conn.parser.inFlight();
    return req === undefined ? undefined : { sock, req };
  }
}

const EMPTY = new Uint8Array(0);
/** Injections kept for connections not announced yet. */
const MAX_INJECTS_AHEAD = 1024;

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
