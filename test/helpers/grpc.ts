/**
 * Real gRPC peers for the tests, one per implementation a traced process
 * may use: grpc-js (Node), grpc-go, grpcio (Python over gRPC's C core). Any
 * client talks to any server: all serve and call grpc.examples.echo.Echo
 * (test/peers/grpc/echo.proto), and every server answers alike, by the
 * request message: "NOT_FOUND" fails with 5 NOT_FOUND ("not found"),
 * "UNAVAILABLE" with 14, "SLOW" answers after 3 s, anything else is echoed
 * (server streaming: 3 responses; client streaming: one, the messages joined
 * by ","; bidi: one per message). A failure on a streaming call comes before
 * any response, as a Trailers-Only response. The Go server also serves
 * helloworld.Greeter/SayHello, which only the Go client calls (`hello:NAME`).
 *
 * The Go binaries and the Python venv are built once by
 * scripts/grpc-peers.sh (scripts/setup.sh --test runs it) and cached outside
 * the repository; grpcPeerPaths() asks that script, so both agree on paths.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stopper, type Peer } from './peers.js';
import { ROOT } from './sonde.js';
import { spawnTied } from './tied.js';
import { collect, makeCertificate } from './tls.js';

export type GrpcKind = 'node' | 'go' | 'python';

/** One line of a client's output. */
export interface GrpcCallResult {
  readonly call: 'unary' | 'server' | 'client' | 'bidi' | 'hello';
  /** The last response's message; '' if none came. */
  readonly message: string;
  /** gRPC status code: 0 OK, 4 DEADLINE_EXCEEDED, 5 NOT_FOUND, 14 UNAVAILABLE, ... */
  readonly code: number;
  /** The status message; '' when OK. Deadline wording differs between implementations. */
  readonly details: string;
  readonly responses: number;
}

export interface GrpcPeerPaths {
  readonly goServer: string;
  readonly goClient: string;
  /** Go's net/http HTTP/2 server (see http2.ts), from the same module. */
  readonly goHttp2Server: string;
  /** The benchmark's gRPC load generator (npm run bench). */
  readonly goLoadgen: string;
  /** The venv's python, with grpcio. */
  readonly python: string;
}

const PEERS = join(ROOT, 'test/peers/grpc');
const BUILD_TIMEOUT_MS = 10 * 60_000;
let paths: Promise<GrpcPeerPaths> | undefined;

/**
 * Where scripts/grpc-peers.sh put the Go binaries and the venv, building
 * them if the cache is cold (a Go build and a pip install: seconds to a
 * minute), else at once. Asked once per test process.
 */
export function grpcPeerPaths(): Promise<GrpcPeerPaths> {
  paths ??= new Promise<GrpcPeerPaths>((resolve, reject) => {
    execFile('bash', [join(ROOT, 'scripts/grpc-peers.sh')], { timeout: BUILD_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`scripts/grpc-peers.sh failed: ${err.message}\n${stderr.slice(-4000)}`));
      const kv = new Map(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
      const [goServer, goClient, goHttp2Server, goLoadgen, python] = ['go_server', 'go_client', 'go_http2_server', 'go_loadgen', 'python'].map((k) => kv.get(k));
      if (!goServer || !goClient || !goHttp2Server || !goLoadgen || !python) return reject(new Error(`scripts/grpc-peers.sh printed no paths: ${stdout}`));
      resolve({ goServer, goClient, goHttp2Server, goLoadgen, python });
    });
  });
  // A failed build is not remembered: the next caller tries again.
  paths.catch(() => (paths = undefined));
  return paths;
}

/**
 * Starts a peer that prints "listening PORT" once it listens, and resolves
 * then (with that port, so PORT 0 works too); rejects if it exits or stays
 * silent for timeoutMs.
 */
export function startAnnounced(name: string, cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 20_000): Promise<Peer> {
  const child: ChildProcess = spawnTied(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  return new Promise((resolve, reject) => {
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${name} ${why}${stderr ? `: ${stderr.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`did not say "listening" within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (e) => fail(`did not start (${e.message})`));
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\d+)$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit').removeAllListeners('error');
      resolve({ pid: child.pid!, port: Number(m[1]), dir: '', stop: stopper(child) });
    });
  });
}

async function command(kind: GrpcKind, role: 'server' | 'client'): Promise<[string, string[]]> {
  switch (kind) {
    case 'node':
      return [process.execPath, [join(PEERS, `node-${role}.mjs`)]];
    case 'go': {
      const p = await grpcPeerPaths();
      return [role === 'server' ? p.goServer : p.goClient, []];
    }
    case 'python':
      return [(await grpcPeerPaths()).python, [join(PEERS, `python_${role}.py`)]];
  }
}

export interface GrpcServerOptions {
  /** Serve TLS with the tests' certificate (makeCertificate() in tls.ts). */
  tls?: boolean;
  /** Address to bind; 127.0.0.1 unless given. */
  host?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * A gRPC echo server on host:port (port 0: the kernel picks; Peer.port says
 * which). The pid is the serving process's own (setpriv execs it): for
 * python, the venv's interpreter, whose /proc/PID/exe is the base python3.
 */
export async function startGrpcServer(kind: GrpcKind, port: number, opts: GrpcServerOptions = {}): Promise<Peer> {
  const [cmd, pre] = await command(kind, 'server');
  const tls = opts.tls ? ['--tls', makeCertificate().cert, makeCertificate().key] : [];
  return startAnnounced(`${kind} gRPC server`, cmd, [...pre, String(port), '--host', opts.host ?? '127.0.0.1', ...tls], opts.env);
}

export interface GrpcClientOptions {
  /** TLS, trusting the tests' certificate. */
  tls?: boolean;
  /** A deadline for each call, from its start; none unless given. */
  deadlineMs?: number;
  /** Run each callspec this many times at once, on the one connection. */
  concurrent?: number;
  /** Metadata on the unary calls (the node client only). */
  metadata?: Record<string, string>;
  /**
   * Called with the client's pid before it runs (it waits in a shell that
   * then execs it, so the pid stays): e.g. to start a Sonde selecting it alone.
   */
  beforeStart?: (pid: number) => Promise<void>;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a gRPC client to completion: `calls` (callspecs `unary:MSG`,
 * `server:MSG`, `client:A,B,...`, `bidi:A,B,...`, and for go `hello:NAME`)
 * one after the other on one channel, i.e. one HTTP/2 connection, made
 * before the first call (so a deadline times the call, not the connection's
 * setup). One result per call (concurrent ones in a group). Failed calls
 * are results; a client that exits non-zero (bad usage, no connection
 * setup) rejects.
 */
/** collect(), with the program held in a shell until `beforeStart` has seen its pid. */
async function collectPaused(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  beforeStart: (pid: number) => Promise<void>,
): Promise<{ pid: number; code: number | null; stdout: string; stderr: string }> {
  const child = spawnTied('sh', ['-c', 'read _ && exec "$@"', 'sh', cmd, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  try {
    await beforeStart(child.pid!);
  } finally {
    child.stdin!.end('\n');
  }
  return { pid: child.pid!, code: await done, stdout, stderr };
}

export async function runGrpcClient(
  kind: GrpcKind,
  target: string,
  calls: readonly string[],
  opts: GrpcClientOptions = {},
): Promise<{ pid: number; results: GrpcCallResult[] }> {
  const [cmd, pre] = await command(kind, 'client');
  const args = [...pre, target, ...calls];
  if (opts.tls) args.push('--tls', makeCertificate().cert);
  if (opts.deadlineMs !== undefined) args.push('--deadline-ms', String(opts.deadlineMs));
  if (opts.concurrent !== undefined) args.push('--concurrent', String(opts.concurrent));
  if (opts.metadata) {
    if (kind !== 'node') throw new Error('runGrpcClient: metadata is for the node client');
    for (const [k, v] of Object.entries(opts.metadata)) args.push('--metadata', `${k}=${v}`);
  }
  const { pid, code, stdout, stderr } = opts.beforeStart ? await collectPaused(cmd, args, opts.env ?? {}, opts.beforeStart) : await collect(cmd, args, opts.env ?? {});
  if (code !== 0) throw new Error(`${kind} gRPC client exited ${code}: ${stderr.trim()}`);
  const results = stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as GrpcCallResult);
  return { pid, results };
}
