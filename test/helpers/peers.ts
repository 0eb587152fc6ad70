/**
 * Real servers and clients for the integration tests: python3 -m
 * http.server, a Node http server, nginx from Debian, curl, a Node client.
 * Servers listen on free loopback ports and are stopped by the caller.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './sonde.js';
import { spawnTied } from './tied.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

export interface Peer {
  readonly pid: number;
  readonly port: number;
  readonly dir: string;
  stop(): Promise<void>;
}

function canConnect(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Resolves once host:port accepts TCP connections; rejects if the child exits first. */
export async function listening(child: ChildProcess, port: number, host: string, name: string): Promise<void> {
  let up = false;
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    void canConnect(port, host).then((ok) => (up = up || ok));
    return up;
  }, `${name} to listen on ${host}:${port}`, 10_000, 50);
}

/** Stops a child with SIGTERM and resolves once it has exited (at once if it already has). */
export function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
}

/** A directory of files to serve: index.html, a 1 MiB file. */
export function webRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-www-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'index.html'), '<html><body>hello from a file</body></html>\n');
  writeFileSync(join(dir, 'big.bin'), Buffer.alloc(1 << 20, 0x62));
  return dir;
}

export async function startPython(port: number, env: NodeJS.ProcessEnv = {}): Promise<Peer> {
  const dir = webRoot();
  const child = spawnTied('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'python3 http.server');
  return { pid: child.pid!, port, dir, stop: stopper(child) };
}

/** test/peers/python-relay.py: a threaded Python app that calls `?to=URL` while serving each request. */
export async function startPythonRelay(port: number, env: NodeJS.ProcessEnv = {}): Promise<Peer> {
  const child = spawnTied('python3', [join(ROOT, 'test/peers/python-relay.py'), String(port)], { env: { ...process.env, ...env }, stdio: 'ignore' });
  await listening(child, port, '127.0.0.1', 'python3 relay');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/** test/peers/node-server.mjs; `extraArgs` go on its command line (it ignores them: something for a cmd_args selector to see). */
export async function startNodeServer(port: number, host = '127.0.0.1', env: NodeJS.ProcessEnv = {}, extraArgs: readonly string[] = []): Promise<Peer> {
  const child = spawnTied(process.execPath, [join(ROOT, 'test/peers/node-server.mjs'), String(port), host, ...extraArgs], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await listening(child, port, host === '::' ? '::1' : host, 'node server');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/** test/peers/node-gateway.mjs: forwards every request, same method, to 127.0.0.1:upstreamPort, its target under `base`. */
export async function startNodeGateway(port: number, upstreamPort: number, env: NodeJS.ProcessEnv = {}, base = ''): Promise<Peer> {
  const child = spawnTied(process.execPath, [join(ROOT, 'test/peers/node-gateway.mjs'), String(port), String(upstreamPort), base], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'node gateway');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/** test/peers/node-api.mjs: turns each request into calls with targets of its own to 127.0.0.1:upstreamPort; over HTTPS with `tls`. */
export async function startNodeApi(port: number, upstreamPort: number, tls?: { cert: string; key: string }): Promise<Peer> {
  const args = [join(ROOT, 'test/peers/node-api.mjs'), String(port), String(upstreamPort), ...(tls ? [tls.cert, tls.key] : [])];
  const child = spawnTied(process.execPath, args, { stdio: 'ignore' });
  await listening(child, port, '127.0.0.1', 'node api');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/**
 * nginx serving webRoot() on IPv4 and IPv6 loopback; over TLS with `tls` (a certificate and its key).
 * With several `workers`, each has its own listening socket (reuseport): the kernel spreads connections.
 */
export async function startNginx(port: number, tls?: { cert: string; key: string }, workers = 1): Promise<Peer> {
  const dir = webRoot();
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  chmodSync(tmp, 0o777);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  sendfile on;
  keepalive_timeout 30s;
  server {
    listen 127.0.0.1:${port}${tls ? ' ssl' : ''}${workers > 1 ? ' reuseport' : ''};
    listen [::1]:${port}${tls ? ' ssl' : ''}${workers > 1 ? ' reuseport' : ''};${tls ? `\n    ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};` : ''}
    root ${dir};
  }
}
`,
  );
  const child = spawnTied('nginx', ['-c', conf, '-e', 'stderr'], { stdio: 'ignore' });
  await listening(child, port, '127.0.0.1', 'nginx');
  return { pid: child.pid!, port, dir, stop: stopper(child) };
}

/** nginx as a reverse proxy on loopback: every request passed to `upstreamPort` as it came (proxy_pass with no URI). */
export async function startNginxProxy(port: number, upstreamPort: number): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'sonde-nginx-proxy-'));
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  chmodSync(tmp, 0o777);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${upstreamPort}; }
  }
}
`,
  );
  const child = spawnTied('nginx', ['-c', conf, '-e', 'stderr'], { stdio: 'ignore' });
  await listening(child, port, '127.0.0.1', 'nginx proxy');
  return { pid: child.pid!, port, dir, stop: stopper(child) };
}

export interface CurlResult {
  readonly url: string;
  readonly status: number;
  readonly localPort: number;
  readonly localIp: string;
  /** Seconds, as curl measured the whole transfer. */
  readonly timeTotal: number;
  readonly sizeDownload: number;
}

/** curl one or more URLs (one connection when the host is the same); one result per URL. */
export async function curl(urls: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CurlResult[]> {
  const outputs = urls.flatMap((u) => ['-o', '/dev/null', u]);
  const { stdout } = await run('curl', ['-s', '-w', '%{json}\\n', ...extra, ...outputs], { env: { ...process.env, ...env } });
  return curlResults(stdout);
}

/** curl's `-w '%{json}'` output, a line per URL: one result each, with the HTTP version it spoke. */
export function curlResults(stdout: string): Array<CurlResult & { readonly httpVersion: string }> {
  return stdout
    .trim()
    .split('\n')
    .map((line) => {
      const j = JSON.parse(line) as Record<string, string | number>;
      return {
        url: String(j.url_effective),
        status: Number(j.http_code),
        localPort: Number(j.local_port),
        localIp: String(j.local_ip),
        timeTotal: Number(j.time_total),
        sizeDownload: Number(j.size_download),
        httpVersion: String(j.http_version),
      };
    });
}

export interface NodeClientResult {
  readonly url: string;
  readonly status: number;
  readonly size: number;
  readonly localPort: number;
  readonly durationNs: number;
}

export async function nodeClient(urls: string[], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; results: NodeClientResult[] }> {
  const child = spawnTied(process.execPath, [join(ROOT, 'test/peers/node-client.mjs'), ...urls], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`node client exited ${code}`);
  return { pid: child.pid!, results: out.trim().split('\n').map((l) => JSON.parse(l) as NodeClientResult) };
}
