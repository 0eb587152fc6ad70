/**
 * Real TLS peers for the integration tests, one per TLS library a traced
 * process may use: nginx, Python and openssl s_server (the system libssl),
 * gnutls-serv and wget (libgnutls), Node (its own OpenSSL, linked into the
 * node binary), OpenSSL 1.1.1's own s_client (libssl.so.1.1, built from
 * source by scripts/peers/openssl-1.1.sh). All share one self-signed
 * certificate for localhost, 127.0.0.1 and ::1, and clients trust it as
 * their CA, so nothing runs with verification off. Servers listen on
 * loopback and are stopped by the caller.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curlResults, listening, nodeClient, startNginx, stopper, webRoot, type CurlResult, type NodeClientResult, type Peer } from './peers.js';
import { ROOT } from './sonde.js';
import { spawnTied } from './tied.js';
import { waitFor } from './wait.js';

export interface Certificate {
  readonly dir: string;
  /** PEM certificate; self-signed, so it is also the CA clients trust. */
  readonly cert: string;
  /** PEM private key, unencrypted. */
  readonly key: string;
}

let certificate: Certificate | undefined;

/** A self-signed certificate for localhost, made once per test process (RSA key generation is not free). */
export function makeCertificate(): Certificate {
  if (certificate && existsSync(certificate.cert)) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'sonde-tls-'));
  // Readable by all: a peer started with dropped privileges must still load it.
  chmodSync(dir, 0o755);
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
      '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-keyout', key, '-out', cert,
    ],
    { stdio: 'ignore' },
  );
  chmodSync(key, 0o644);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  certificate = { dir, cert, key };
  return certificate;
}

/** The children of a process (e.g. nginx's workers), from /proc. */
export function childPids(pid: number): number[] {
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return [];
  return readdirSync(tasks).flatMap((tid) => {
    try {
      return readFileSync(join(tasks, tid, 'children'), 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  });
}

/**
 * nginx over TLS (libssl), master and one worker, on IPv4 and IPv6 loopback.
 * The pid is the master's; the worker, which does the TLS, is childPids(pid)[0].
 */
export async function startNginxTls(port: number): Promise<Peer> {
  const peer = await startNginx(port, makeCertificate());
  // The kernel accepts into the backlog before the master forks its worker:
  // wait for the worker, so callers can look it up at once.
  await waitFor(() => childPids(peer.pid).length > 0, 'the nginx worker');
  return peer;
}

/** Python's http.server over ssl (libssl through _ssl), HTTP/1.1 keep-alive, serving a web root. */
export async function startPythonHttps(port: number, env: NodeJS.ProcessEnv = {}): Promise<Peer> {
  const { cert, key } = makeCertificate();
  const dir = webRoot();
  const child = spawnTied('python3', [join(ROOT, 'test/peers/python-https-server.py'), String(port), '127.0.0.1', cert, key], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'python3 https server');
  return { pid: child.pid!, port, dir, stop: stopper(child) };
}

/**
 * openssl s_server -www (libssl): answers any GET with an HTML status page
 * as HTTP/1.0 and closes the connection; one connection at a time.
 */
export async function startOpensslServer(port: number): Promise<Peer> {
  const { cert, key } = makeCertificate();
  const child = spawnTied('openssl', ['s_server', '-quiet', '-www', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key], {
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'openssl s_server');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/** A Node https server (test/peers/node-https-server.mjs): 200 "hello over tls", keep-alive. */
export async function startNodeHttpsServer(port: number, host = '127.0.0.1', env: NodeJS.ProcessEnv = {}): Promise<Peer> {
  const { cert, key } = makeCertificate();
  const child = spawnTied(process.execPath, [join(ROOT, 'test/peers/node-https-server.mjs'), String(port), host, cert, key], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  await listening(child, port, host === '::' ? '::1' : host, 'node https server');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/**
 * gnutls-serv --http (libgnutls): answers any GET with an HTML status page.
 * It has no bind-address option and listens on all addresses, IPv4 and
 * IPv6; tests connect through 127.0.0.1.
 */
export async function startGnutlsServer(port: number): Promise<Peer> {
  const { cert, key } = makeCertificate();
  const child = spawnTied('gnutls-serv', ['--http', '-p', String(port), '--x509certfile', cert, '--x509keyfile', key], {
    stdio: 'ignore',
  });
  await listening(child, port, '127.0.0.1', 'gnutls-serv');
  return { pid: child.pid!, port, dir: '', stop: stopper(child) };
}

/** Runs a tied child to completion, collecting its stdout. */
export function collect(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ pid: number; code: number | null; stdout: string; stderr: string }> {
  const child = spawnTied(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid!, code, stdout, stderr }));
  });
}

/**
 * curl (libssl) over https, trusting the test certificate; one connection
 * when the host is the same (unless the server closes it). HTTP/1.1 unless
 * extra says otherwise (a later --http2 wins). One result per URL, as curl().
 */
export async function httpsCurl(urls: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; results: CurlResult[] }> {
  const { cert } = makeCertificate();
  const outputs = urls.flatMap((u) => ['-o', '/dev/null', u]);
  const { pid, code, stdout, stderr } = await collect('curl', ['-sS', '--http1.1', '--cacert', cert, '-w', '%{json}\\n', ...extra, ...outputs], env);
  if (code !== 0) throw new Error(`curl exited ${code}: ${stderr.trim()}`);
  const results = curlResults(stdout);
  return { pid, results };
}

/** The Node client (its own OpenSSL) over https, trusting the test certificate; one keep-alive connection. */
export function nodeHttpsClient(urls: string[], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; results: NodeClientResult[] }> {
  return nodeClient(urls, { ...env, SONDE_TEST_CA: makeCertificate().cert });
}

/**
 * wget (libgnutls) over https, trusting the test certificate. It speaks
 * HTTP/1.1 and reuses one keep-alive connection for URLs on the same host.
 * --no-config: /etc/wgetrc and ~/.wgetrc must not change what it does.
 */
export async function wgetFetch(urls: string[], extra: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ pid: number; exitCode: number | null }> {
  const { cert } = makeCertificate();
  const { pid, code } = await collect('wget', ['--no-config', '-q', '-O', '/dev/null', `--ca-certificate=${cert}`, ...extra, ...urls], env);
  return { pid, exitCode: code };
}

/**
 * OpenSSL 1.1.1 (libssl.so.1.1, which Debian 12 no longer ships), as
 * scripts/peers/openssl-1.1.sh built it (scripts/setup.sh --test does):
 * the directory holding lib/ and bin/openssl.
 */
export function openssl11Dir(): string {
  try {
    const out = execFileSync('bash', [join(ROOT, 'scripts/peers/openssl-1.1.sh'), '--check'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out.trim().split('\n').pop()!;
  } catch {
    throw new Error('OpenSSL 1.1 is not built: run scripts/setup.sh --test (or bash scripts/peers/openssl-1.1.sh)');
  }
}

/**
 * One HTTP/1.1 request, `Connection: close`, through OpenSSL 1.1.1's own
 * `openssl s_client` (SSL_write and SSL_read on libssl.so.1.1, found through
 * LD_LIBRARY_PATH), trusting and verifying the test certificate.
 * `beforeRequest` runs once the process has libssl.so.1.1 mapped (its path
 * as /proc/PID/maps shows it) and before a byte of the request is written.
 * Resolves when the server has closed the connection and s_client has exited.
 */
export async function openssl11Request(
  port: number,
  path: string,
  beforeRequest?: (pid: number, libssl: string) => Promise<void>,
): Promise<{ pid: number; libssl: string; response: string }> {
  const dir = openssl11Dir();
  const libssl = realpathSync(join(dir, 'lib/libssl.so.1.1'));
  const { cert } = makeCertificate();
  const child = spawnTied(
    join(dir, 'bin/openssl'),
    // -quiet: no session details on stdout, and stdin's end does not end the connection.
    ['s_client', '-quiet', '-connect', `127.0.0.1:${port}`, '-CAfile', cert, '-verify_return_error', '-verify_ip', '127.0.0.1'],
    { env: { ...process.env, LD_LIBRARY_PATH: join(dir, 'lib') }, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void closed.then((c) => (exitCode = c));
  try {
    const pid = child.pid!;
    await waitFor(() => {
      if (exitCode !== undefined) throw new Error(`openssl 1.1 s_client exited ${exitCode} before its request: ${stderr.trim()}`);
      try {
        return readFileSync(`/proc/${pid}/maps`, 'latin1').split('\n').some((l) => l.endsWith(` ${libssl}`));
      } catch {
        return false;
      }
    }, `openssl 1.1 s_client to map ${libssl}`);
    await beforeRequest?.(pid, libssl);
    child.stdin!.end(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    await waitFor(() => exitCode !== undefined, 'openssl 1.1 s_client to exit after the response');
    if (exitCode !== 0) throw new Error(`openssl 1.1 s_client exited ${exitCode}: ${stderr.trim()}`);
    return { pid, libssl, response: stdout };
  } finally {
    if (exitCode === undefined) child.kill('SIGKILL');
  }
}
