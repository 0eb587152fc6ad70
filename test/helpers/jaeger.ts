/**
 * A real Jaeger v2 for end-to-end tests: built from the Go module proxy by
 * scripts/jaeger.sh, run with in-memory storage on free loopback ports, and
 * read back through its HTTP query API.
 *
 * Query API: APIv3 (`/api/v3/traces`, `/api/v3/services`). It answers with
 * OTLP JSON, i.e. the very data model Sonde exports: span kind, status and
 * resource attributes come back as sent and times keep nanosecond precision,
 * whereas the v1 API (`/api/traces`) translates to the Jaeger model (kind and
 * status folded into tags, times in microseconds). With `raw_traces=true`
 * Jaeger also skips its adjusters (clock skew, span-ID dedupe, ...), so what we
 * read is exactly what was stored.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { freePort } from './ports.js';
import { spawnTied } from './tied.js';

import { ROOT } from '../../collector/version.js';

export interface Jaeger {
  /** OTLP/gRPC receiver, e.g. for @opentelemetry/exporter-trace-otlp-grpc. */
  readonly otlpGrpcEndpoint: string;
  /** OTLP/HTTP receiver base; traces go to `${otlpHttpEndpoint}/v1/traces`. */
  readonly otlpHttpEndpoint: string;
  /** Query HTTP API and UI. */
  readonly queryUrl: string;
  readonly pid: number;
  /** Jaeger's stdout and stderr lines, for diagnosing failed tests. */
  readonly logs: string[];
  /** The YAML config Jaeger runs with (its temp file is gone once it is up). */
  readonly config: string;
  /** Stops Jaeger (TERM, then KILL after 5 s). Idempotent. */
  stop(): Promise<void>;
}

export type SpanKindName = 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
export type StatusCodeName = 'UNSET' | 'OK' | 'ERROR';
export type AttrValue = string | number | boolean;

export interface JaegerSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  kind: SpanKindName;
  /** Nanoseconds since the Unix epoch. */
  startUnixNano: bigint;
  /** Nanoseconds. */
  durationNs: bigint;
  /** Ints come back as numbers; arrays and maps as their JSON text. */
  attributes: Record<string, AttrValue>;
  /** Resource attributes, incl. service.name. */
  resource: Record<string, AttrValue>;
  scope: { name: string; version: string };
  status: { code: StatusCodeName; message?: string };
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: string };

// ---------------------------------------------------------------------------
// Building and running

const BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Path of the Jaeger binary, built by scripts/jaeger.sh if the cache is cold
 * (minutes), else returned at once. Asynchronous rather than execFileSync so a
 * long build does not freeze the test worker's event loop.
 */
export function jaegerBinary(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [join(ROOT, 'scripts/jaeger.sh')],
      { timeout: BUILD_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new Error(`scripts/jaeger.sh failed: ${err.message}\n${stderr.slice(-4000)}`));
          return;
        }
        const last = stdout.trim().split('\n').pop() ?? '';
        if (!last.startsWith('/')) reject(new Error(`scripts/jaeger.sh printed no binary path: ${stdout}`));
        else resolve(last);
      },
    );
  });
}

export interface JaegerPorts {
  otlpGrpc: number;
  otlpHttp: number;
  queryHttp: number;
  queryGrpc: number;
}

/**
 * The whole Jaeger configuration. Only the components named here run, so only
 * these four ports are bound: no Jaeger/Zipkin receivers, no remote sampling,
 * healthcheck, zpages, expvar or pprof extensions, and the collector's own
 * metrics endpoint (8888 by default) is off.
 */
export function jaegerConfig(p: JaegerPorts, maxTraces = 100_000): Record<string, unknown> {
  const store = 'sonde_memory';
  return {
    service: {
      extensions: ['jaeger_storage', 'jaeger_query'],
      pipelines: {
        traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] },
      },
      telemetry: {
        // level none: no meter provider, so no Prometheus listener on :8888.
        metrics: { level: 'none' },
        logs: { level: 'info' },
      },
    },
    extensions: {
      jaeger_storage: { backends: { [store]: { memory: { max_traces: maxTraces } } } },
      jaeger_query: {
        storage: { traces: store },
        // On by default in v2: the query service would then trace itself to
        // the OTLP default localhost:4317, i.e. into whatever else listens there.
        enable_tracing: false,
        http: { endpoint: `127.0.0.1:${p.queryHttp}` },
        // Always started (the config is not optional in this version).
        grpc: { endpoint: `127.0.0.1:${p.queryGrpc}` },
      },
    },
    receivers: {
      otlp: {
        protocols: {
          grpc: { endpoint: `127.0.0.1:${p.otlpGrpc}` },
          http: { endpoint: `127.0.0.1:${p.otlpHttp}` },
        },
      },
    },
    // A short batch timeout: spans become queryable ~100 ms after arrival.
    processors: { batch: { timeout: '100ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: store } },
  };
}

/** Children still running, killed if the test process exits without stop(). */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is the one thing that surely
  // lands before we are gone.
  process.on('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

export interface StartJaegerOptions {
  /** Binary path; default: jaegerBinary() (builds when the cache is cold). */
  binary?: string;
  readyTimeoutMs?: number;
  maxTraces?: number;
}

/**
 * Starts Jaeger on free loopback ports and resolves once the query API answers
 * and both OTLP receivers accept connections. Ports are picked by the kernel
 * and released before Jaeger binds them, so another process can in rare cases
 * take one in between: a start that fails on "address already in use" is
 * retried with fresh ports.
 */
export async function startJaeger(opts: StartJaegerOptions = {}): Promise<Jaeger> {
  const binary = opts.binary ?? (await jaegerBinary());
  let lastError = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await startOnce(binary, opts);
    if (r.ok) return r.value;
    lastError = r.error;
    if (!/address already in use/i.test(r.error)) break;
  }
  throw new Error(`Jaeger did not start: ${lastError}`);
}

async function startOnce(binary: string, opts: StartJaegerOptions): Promise<Result<Jaeger>> {
  const ports = await distinctFreePorts(4);
  const [otlpGrpc, otlpHttp, queryHttp, queryGrpc] = ports as [number, number, number, number];
  const p: JaegerPorts = { otlpGrpc, otlpHttp, queryHttp, queryGrpc };
  const dir = mkdtempSync(join(tmpdir(), 'sonde-jaeger-'));
  const configPath = join(dir, 'config.yaml');
  const config = stringify(jaegerConfig(p, opts.maxTraces));
  writeFileSync(configPath, config);
  // Jaeger reads its config once, at start: drop the file as soon as it is up
  // (or gone), so that even a killed test run leaves no temp files behind.
  const removeDir = (): void => rmSync(dir, { recursive: true, force: true });

  // Drop OTEL_*/JAEGER_* variables of the caller's shell: the config file
  // alone decides what Jaeger does.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(OTEL|JAEGER)_/.test(k)) env[k] = v;
  }
  // Tied to this worker: killed with it, however it ends.
  const child = spawnTied(binary, ['--config', `file:${configPath}`], { stdio: ['ignore', 'pipe', 'pipe'], env });
  installExitHook();
  live.add(child);

  const logs: string[] = [];
  const keep = (line: string): void => {
    if (logs.length >= 20_000) logs.shift();
    logs.push(line);
  };
  if (child.stdout) createInterface({ input: child.stdout }).on('line', keep);
  if (child.stderr) createInterface({ input: child.stderr }).on('line', keep);

  let exited = false;
  const exitedP = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      live.delete(child);
      keep(`[jaeger exited: code=${String(code)} signal=${String(signal)}]`);
      resolve();
    });
    child.once('error', (e) => {
      keep(`[spawn error: ${e.message}]`);
      exited = true;
      live.delete(child);
      resolve();
    });
  });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) {
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exitedP;
        clearTimeout(timer);
      }
      removeDir();
    }
  };

  const jaeger: Jaeger = {
    otlpGrpcEndpoint: `http://127.0.0.1:${p.otlpGrpc}`,
    otlpHttpEndpoint: `http://127.0.0.1:${p.otlpHttp}`,
    queryUrl: `http://127.0.0.1:${p.queryHttp}`,
    pid: child.pid ?? -1,
    logs,
    config,
    stop,
  };

  const timeoutMs = opts.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      await stop();
      return { ok: false, error: `Jaeger exited before it was ready:\n${logs.slice(-40).join('\n')}` };
    }
    if (await isReady(jaeger, p)) {
      removeDir();
      return { ok: true, value: jaeger };
    }
    if (Date.now() > deadline) {
      await stop();
      return { ok: false, error: `not ready after ${timeoutMs} ms:\n${logs.slice(-40).join('\n')}` };
    }
    await sleep(50);
  }
}

async function isReady(j: Jaeger, p: JaegerPorts): Promise<boolean> {
  // The query extension starts before the pipelines, so an answering query
  // API alone does not mean the receivers listen yet: probe them too.
  const q = await getJson(`${j.queryUrl}/api/v3/services`, 1_000);
  if (!q.ok) return false;
  return (await canConnect(p.otlpGrpc)) && (await canConnect(p.otlpHttp));
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function distinctFreePorts(n: number): Promise<number[]> {
  const got = new Set<number>();
  while (got.size < n) got.add(await freePort());
  return [...got];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------
// Querying

interface HttpReply {
  status: number;
  body: unknown;
}

async function getJson(url: string, timeoutMs = 5_000): Promise<Result<HttpReply>> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      // error replies from Go's http.Error may be plain text
    }
    return { ok: true, value: { status: res.status, body } };
  } catch (e) {
    return { ok: false, error: `GET ${url}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Service names Jaeger has seen spans of. */
export async function services(j: Jaeger): Promise<string[]> {
  const r = await getJson(`${j.queryUrl}/api/v3/services`);
  if (!r.ok) throw new Error(r.error);
  const { status, body } = r.value;
  if (status !== 200 || !isRecord(body)) throw new Error(`services: HTTP ${status}: ${JSON.stringify(body)}`);
  const list = body['services'];
  return Array.isArray(list) ? list.filter((s): s is string => typeof s === 'string') : [];
}

export interface FindTracesQuery {
  service: string;
  /** Most traces to return (Jaeger's search depth); default 100. */
  limit?: number;
  /** How far back span start times may be; default one hour. */
  lookbackMs?: number;
}

/**
 * All spans of the traces that have a span of `query.service` (so a trace's
 * spans from other services come along). As a value: Jaeger errors are not
 * thrown, and "no traces found" is an empty list.
 */
export async function queryTraces(j: Jaeger, query: FindTracesQuery): Promise<Result<JaegerSpan[]>> {
  const now = Date.now();
  const params = new URLSearchParams({
    'query.service_name': query.service,
    'query.start_time_min': new Date(now - (query.lookbackMs ?? 3_600_000)).toISOString(),
    // A little into the future: spans timed by another clock may start "later".
    'query.start_time_max': new Date(now + 60_000).toISOString(),
    'query.num_traces': String(query.limit ?? 100),
    'query.raw_traces': 'true',
  });
  const r = await getJson(`${j.queryUrl}/api/v3/traces?${params.toString()}`);
  if (!r.ok) return r;
  const { status, body } = r.value;
  if (status === 404) return { ok: true, value: [] }; // APIv3's answer to "No traces found"
  if (status !== 200 || !isRecord(body)) {
    return { ok: false, error: `find traces: HTTP ${status}: ${JSON.stringify(body).slice(0, 500)}` };
  }
  return parseTracesData(body['result']);
}

/** queryTraces, throwing on errors. */
export async function findTraces(j: Jaeger, query: FindTracesQuery): Promise<JaegerSpan[]> {
  const r = await queryTraces(j, query);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/**
 * Polls until at least `count` spans of `service`'s traces satisfy `predicate`,
 * and returns those spans; throws with what it saw when `timeoutMs` passes.
 */
export async function waitForSpans(
  j: Jaeger,
  service: string,
  predicate: (s: JaegerSpan) => boolean,
  count = 1,
  timeoutMs = 10_000,
): Promise<JaegerSpan[]> {
  const deadline = Date.now() + timeoutMs;
  let seen: JaegerSpan[] = [];
  let lastError = '';
  for (;;) {
    const r = await queryTraces(j, { service });
    if (r.ok) {
      seen = r.value;
      const hits = seen.filter(predicate);
      if (hits.length >= count) return hits;
    } else {
      lastError = r.error;
    }
    if (Date.now() > deadline) {
      const names = seen.map((s) => `${s.name}(${s.kind})`).join(', ') || 'none';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${count} matching span(s) of ${service}; ` +
          `${seen.length} span(s) seen: ${names}${lastError ? `; last error: ${lastError}` : ''}`,
      );
    }
    await sleep(100);
  }
}

// ---------------------------------------------------------------------------
// OTLP JSON (as marshalled by Jaeger's gogo jsonpb) -> JaegerSpan

const KINDS: readonly SpanKindName[] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const STATUSES: readonly StatusCodeName[] = ['UNSET', 'OK', 'ERROR'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function records(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isRecord) : [];
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Enums arrive as numbers (jsonpb default) or as names, e.g. SPAN_KIND_SERVER. */
function enumName<T extends string>(v: unknown, names: readonly T[], prefix: string, dflt: T): T {
  if (typeof v === 'number') return names[v] ?? dflt;
  if (typeof v === 'string') {
    const n = v.startsWith(prefix) ? v.slice(prefix.length) : v;
    return names.find((x) => x === n) ?? dflt;
  }
  return dflt;
}

/** uint64 fields are strings in proto3 JSON; accept numbers too. */
function big(v: unknown): bigint {
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return 0n;
}

/** An OTLP AnyValue as a plain JS value (ints as numbers, int64 is a string in JSON). */
function anyValue(v: unknown): unknown {
  if (!isRecord(v)) return '';
  if ('stringValue' in v) return str(v['stringValue']);
  if ('intValue' in v) return Number(v['intValue']);
  if ('doubleValue' in v) return Number(v['doubleValue']);
  if ('boolValue' in v) return v['boolValue'] === true;
  if ('bytesValue' in v) return str(v['bytesValue']); // base64
  if ('arrayValue' in v) {
    const a = v['arrayValue'];
    return isRecord(a) ? records(a['values']).map(anyValue) : [];
  }
  if ('kvlistValue' in v) {
    const l = v['kvlistValue'];
    return isRecord(l) ? Object.fromEntries(records(l['values']).map((kv) => [str(kv['key']), anyValue(kv['value'])])) : {};
  }
  return ''; // an empty AnyValue: jsonpb omits all fields
}

function attrs(v: unknown): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of records(v)) {
    const val = anyValue(kv['value']);
    out[str(kv['key'])] =
      typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean' ? val : JSON.stringify(val);
  }
  return out;
}

/** Parses an OTLP JSON TracesData ({ resourceSpans: [...] }). */
export function parseTracesData(data: unknown): Result<JaegerSpan[]> {
  if (!isRecord(data)) return { ok: false, error: `not OTLP TracesData: ${JSON.stringify(data)?.slice(0, 200)}` };
  const spans: JaegerSpan[] = [];
  for (const rs of records(data['resourceSpans'])) {
    const res = rs['resource'];
    const resource = isRecord(res) ? attrs(res['attributes']) : {};
    for (const ss of records(rs['scopeSpans'])) {
      const sc = ss['scope'];
      const scope = isRecord(sc) ? { name: str(sc['name']), version: str(sc['version']) } : { name: '', version: '' };
      for (const s of records(ss['spans'])) {
        const st = s['status'];
        const start = big(s['startTimeUnixNano']);
        const status: JaegerSpan['status'] = { code: 'UNSET' };
        if (isRecord(st)) {
          status.code = enumName(st['code'], STATUSES, 'STATUS_CODE_', 'UNSET');
          if (str(st['message'])) status.message = str(st['message']);
        }
        spans.push({
          traceId: str(s['traceId']),
          spanId: str(s['spanId']),
          parentSpanId: str(s['parentSpanId']),
          name: str(s['name']),
          kind: enumName(s['kind'], KINDS, 'SPAN_KIND_', 'UNSPECIFIED'),
          startUnixNano: start,
          durationNs: big(s['endTimeUnixNano']) - start,
          attributes: attrs(s['attributes']),
          resource,
          scope,
          status,
        });
      }
    }
  }
  return { ok: true, value: spans };
}
