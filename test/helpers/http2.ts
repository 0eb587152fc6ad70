/**
 * Plain HTTP/2 peers for the tests: nghttpd (server), nghttp and h2load
 * (clients) from Debian's nghttp2, curl, and Go's net/http. nghttpd speaks
 * cleartext HTTP/2 with prior knowledge only: an HTTP/1.1 "Upgrade: h2c"
 * (curl --http2 or nghttp -u on an http URL) fails against it, so the
 * Upgrade path goes to startGoHttp2Server(). Over TLS, h2 is chosen by ALPN.
 * Servers listen on 127.0.0.1 and are stopped by the caller.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { grpcPeerPaths, startAnnounced } from './grpc.js';
import { curlResults, listening, stopper, webRoot, type CurlResult, type Peer } from './peers.js';
import { spawnTied } from './tied.js';
import { collect, makeCertificate } from './tls.js';

export interface NghttpdOptions {
  /** h2 over TLS (ALPN) with the tests' certificate; else cleartext h2c, prior knowledge only. */
  tls?: boolean;
  /** More files for the document root, by relative path, beside index.html and big.bin (1 MiB) of webRoot(). */
  files?: Record<string, string | Uint8Array>;
  env?: NodeJS.ProcessEnv;
}

/**
 * nghttpd serving a document root (Peer.dir) on 127.0.0.1:port: files by
 * path (404 otherwise), and with --echo-upload a POST or PUT gets its body
 * back. One process, one thread.
 */
export async function startNghttpd(port: number, opts: NghttpdOptions = {}): Promise<Peer> {
  const dir = webRoot();
  for (const [path, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  const { cert, key } = opts.tls ? makeCertificate() : { cert: '', key: '' };
  // nghttpd takes the key before the certificate.
  const tail = opts.tls ? [String(port), key, cert] : ['--no-tls', String(port)];
  const child = spawnTied('nghttpd', ['--echo-upload', '-a', '127.0.0.1', '-d', dir, ...tail], {
    env: { ...process.env, ...opts.env },
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'nghttpd');
  return { pid: child.pid!, port, dir, stop: stopper(child) };
}

/**
 * Go's net/http HTTP/2 server (test/peers/grpc/go/http2): cleartext it takes
 * prior knowledge and "Upgrade: h2c"; with tls, h2 or http/1.1 by ALPN.
 * Paths: / (200 "hello over h2"), /status/NNN, /echo (200 "received N").
 */
export async function startGoHttp2Server(port: number, opts: { tls?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Peer> {
  const bin = (await grpcPeerPaths()).goHttp2Server;
  const tls = opts.tls ? ['--tls', makeCertificate().cert, makeCertificate().key] : [];
  return startAnnounced('Go http2 server', bin, [String(port), ...tls], opts.env);
}

export interface NghttpResponse {
  readonly url: string;
  readonly method: string;
  readonly status: number;
  /** Response body bytes received (the HAR's content.size). */
  readonly size: number;
}

export interface NghttpOptions {
  /** Cleartext: reach HTTP/2 by an HTTP/1.1 Upgrade (nghttp -u) instead of prior knowledge. */
  upgrade?: boolean;
  /** A request body: the requests become POSTs. */
  data?: string | Uint8Array;
  headers?: Record<string, string>;
  env?: NodeJS.ProcessEnv;
}

/**
 * nghttp fetching URLs on one connection, all at once (one stream each),
 * discarding bodies; its HAR output gives one response per URL that got one.
 * It does not verify certificates. Does not throw on failure: exitCode and
 * stderr say what went wrong.
 */
export async function runNghttp(
  urls: string | readonly string[],
  opts: NghttpOptions = {},
): Promise<{ pid: number; exitCode: number | null; responses: NghttpResponse[]; stderr: string }> {
  const tmp = mkdtempSync(join(tmpdir(), 'sonde-nghttp-'));
  try {
    const har = join(tmp, 'out.har');
    const args = ['-n', '-y', `--har=${har}`];
    if (opts.upgrade) args.push('-u');
    if (opts.data !== undefined) {
      writeFileSync(join(tmp, 'body'), opts.data);
      args.push('-d', join(tmp, 'body'));
    }
    for (const [name, value] of Object.entries(opts.headers ?? {})) args.push('-H', `${name}: ${value}`);
    const { pid, code, stderr } = await collect('nghttp', [...args, ...(typeof urls === 'string' ? [urls] : urls)], opts.env ?? {});
    let entries: { request: { url: string; method: string }; response: { status: number; content: { size: number } } }[] = [];
    try {
      entries = (JSON.parse(readFileSync(har, 'utf8')) as { log: { entries: typeof entries } }).log.entries;
    } catch {
      // No HAR: nghttp failed before any response; exitCode and stderr say why.
    }
    const responses = entries.map((e) => ({ url: e.request.url, method: e.request.method, status: e.response.status, size: e.response.content.size }));
    return { pid, exitCode: code, responses, stderr };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export interface H2loadResult {
  readonly pid: number;
  readonly exitCode: number | null;
  /** "h2c", "h2" or "http/1.1", as h2load negotiated it. */
  readonly protocol: string;
  readonly requests: { total: number; started: number; done: number; succeeded: number; failed: number; errored: number; timeout: number };
  readonly status: { '2xx': number; '3xx': number; '4xx': number; '5xx': number };
}

/**
 * h2load: `requests` GETs of url over `clients` connections with up to
 * `streams` concurrent streams each (cleartext: prior knowledge). Rejects
 * only when its summary cannot be read.
 */
export async function runH2load(
  url: string,
  opts: { requests: number; clients: number; streams: number; env?: NodeJS.ProcessEnv },
): Promise<H2loadResult> {
  const args = ['-n', String(opts.requests), '-c', String(opts.clients), '-m', String(opts.streams), url];
  const { pid, code, stdout, stderr } = await collect('h2load', args, opts.env ?? {});
  const req = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(stdout);
  const st = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(stdout);
  if (!req || !st) throw new Error(`h2load printed no summary (exit ${code}): ${stdout.slice(-2000)}${stderr.slice(-2000)}`);
  const n = (m: RegExpExecArray, i: number): number => Number(m[i]);
  return {
    pid,
    exitCode: code,
    protocol: /Application protocol: (\S+)/.exec(stdout)?.[1] ?? '',
    requests: { total: n(req, 1), started: n(req, 2), done: n(req, 3), succeeded: n(req, 4), failed: n(req, 5), errored: n(req, 6), timeout: n(req, 7) },
    status: { '2xx': n(st, 1), '3xx': n(st, 2), '4xx': n(st, 3), '5xx': n(st, 4) },
  };
}

export interface Http2CurlResult extends CurlResult {
  /** "2" when HTTP/2 was used, "1.1" when curl fell back, as curl reports it. */
  readonly httpVersion: string;
}

/**
 * curl over HTTP/2, one connection for URLs on one host. https: h2 by ALPN,
 * trusting the tests' certificate. http: with priorKnowledge, h2c at once
 * (--http2-prior-knowledge); without, an HTTP/1.1 request with
 * "Upgrade: h2c" (--http2), which only startGoHttp2Server() accepts.
 * Rejects if curl fails. Prior knowledge takes one URL: Debian 12's curl
 * (7.88) fails the second request on a reused prior-knowledge connection
 * ("Error in the HTTP2 framing layer", curl issue 10634, fixed in 8.0); for
 * several streams on one h2c connection use runNghttp().
 */
export async function curlHttp2(
  urls: string | readonly string[],
  opts: { priorKnowledge?: boolean; extra?: string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<{ pid: number; results: Http2CurlResult[] }> {
  const list = typeof urls === 'string' ? [urls] : urls;
  if (opts.priorKnowledge && list.length > 1) throw new Error('curlHttp2: prior knowledge takes one URL (curl 7.88 cannot reuse the connection)');
  const mode = opts.priorKnowledge ? ['--http2-prior-knowledge'] : ['--http2'];
  const ca = list.some((u) => u.startsWith('https:')) ? ['--cacert', makeCertificate().cert] : [];
  const outputs = list.flatMap((u) => ['-o', '/dev/null', u]);
  const { pid, code, stdout, stderr } = await collect('curl', ['-sS', ...mode, ...ca, '-w', '%{json}\\n', ...(opts.extra ?? []), ...outputs], opts.env ?? {});
  if (code !== 0) throw new Error(`curl exited ${code}: ${stderr.trim()}`);
  const results = curlResults(stdout);
  return { pid, results };
}
