/**
 * Context propagation across hosts: two network namespaces on this machine
 * joined by a veth pair (addresses only inside them, no route anywhere
 * else), a Python HTTP/1.1 server in B that echoes the request headers it
 * got, curl in A. Sonde A traces only the clients and writes traceparent
 * (OTEL_EBPF_BPF_CONTEXT_PROPAGATION=headers); Sonde B traces only the
 * server (and one client, with injection off). The header the server got,
 * the CLIENT span of Sonde A and the SERVER span of Sonde B must agree.
 *
 * Each curl is started first, blocked reading its config from stdin, so
 * Sonde can be started on its pid (traced from the start, never pending);
 * the test then writes the config and waits for it to exit.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSonde, type PrintedSpan, type SondeProcess } from '../helpers/sonde.js';
import { spawnTied } from '../helpers/tied.js';
import { waitFor } from '../helpers/wait.js';

const RUN = randomBytes(3).toString('hex');
const NS_A = `sonde-inj-a-${RUN}`;
const NS_B = `sonde-inj-b-${RUN}`;
const VETH_A = `sia${RUN}`;
const VETH_B = `sib${RUN}`;
const OCTET = 1 + (parseInt(RUN.slice(0, 2), 16) % 250);
const BASE = 4 * (parseInt(RUN.slice(2, 4), 16) % 63);
const ADDR_A = `10.254.${OCTET}.${BASE + 1}`;
const ADDR_B = `10.254.${OCTET}.${BASE + 2}`;
const PORT = 8080;
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

/** Echoes what it received: one JSON line per request, the headers as the server read them. */
const SERVER = `
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def handle_one(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode('latin1') if n else ''
        out = (json.dumps({'path': self.path, 'method': self.command, 'port': self.client_address[1],
                           'headers': [[k, v] for k, v in self.headers.items()], 'body': body}) + '\\n').encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(out)))
        self.end_headers()
        self.wfile.write(out)
    do_GET = handle_one
    do_POST = handle_one
    def log_message(self, *a): pass
s = HTTPServer(('${ADDR_B}', ${PORT}), H)
print('ready', flush=True)
s.serve_forever()
`;

interface Echo {
  path: string;
  method: string;
  port: number;
  headers: Array<[string, string]>;
  body: string;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A curl in namespace A, waiting for its config on stdin. */
class Client {
  readonly child: ChildProcess;
  private out = '';
  private code: number | null = null;

  constructor() {
    this.child = spawnTied('ip', ['netns', 'exec', NS_A, 'curl', '-sS', '--max-time', '10', '-K', '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.on('exit', (c) => (this.code = c ?? -1));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Send the config (curl's long options, one a line), wait for curl to finish, return what the server echoed. */
  async run(lines: string[]): Promise<Echo[]> {
    this.child.stdin!.end(`${lines.join('\n')}\n`);
    await waitFor(() => this.code !== null, `curl ${this.pid} to exit`, 15_000);
    expect(this.code, this.out).toBe(0);
    return this.out.trim().split('\n').map((l) => JSON.parse(l) as Echo);
  }

  kill(): void {
    if (this.code === null) this.child.kill('SIGKILL');
  }
}

const url = (path: string): string => `url = "http://${ADDR_B}:${PORT}${path}"`;
const traceparents = (e: Echo): string[] => e.headers.filter(([k]) => k.toLowerCase() === 'traceparent').map(([, v]) => v);

let server: ChildProcess | undefined;
let sondeA: SondeProcess | undefined;
let sondeB: SondeProcess | undefined;
const clients: Record<'basic' | 'present' | 'keepAlive' | 'post' | 'off' | 'untraced', Client> = {} as never;

beforeAll(async () => {
  ip('netns', 'add', NS_A);
  ip('netns', 'add', NS_B);
  ip('link', 'add', VETH_A, 'netns', NS_A, 'type', 'veth', 'peer', 'name', VETH_B, 'netns', NS_B);
  for (const [ns, dev, addr] of [[NS_A, VETH_A, ADDR_A], [NS_B, VETH_B, ADDR_B]] as const) {
    ip('-n', ns, 'addr', 'add', `${addr}/30`, 'dev', dev);
    ip('-n', ns, 'link', 'set', dev, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
  }
  const srv = spawnTied('ip', ['netns', 'exec', NS_B, 'python3', '-u', '-c', SERVER], { stdio: ['ignore', 'pipe', 'pipe'] });
  server = srv;
  let ready = false;
  let err = '';
  srv.stdout!.on('data', (d: Buffer) => (ready ||= d.toString().includes('ready')));
  srv.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => ready || srv.exitCode !== null, 'the server in namespace B', 10_000);
  expect(ready, err).toBe(true);

  for (const k of ['basic', 'present', 'keepAlive', 'post', 'off', 'untraced'] as const) clients[k] = new Client();
  const a = [clients.basic, clients.present, clients.keepAlive, clients.post].map((c) => c.pid).join(',');
  sondeA = startSonde(['--pid', a], { OTEL_EBPF_BPF_CONTEXT_PROPAGATION: 'headers', OTEL_SERVICE_NAME: 'client-side' });
  sondeB = startSonde(['--pid', `${srv.pid!},${clients.off.pid}`], { OTEL_SERVICE_NAME: 'server-side' });
  await Promise.all([sondeA.ready(), sondeB.ready()]);
  expect(sondeA.logs.find((l) => l.msg.startsWith('context propagation:')), sondeA.stderr.join('\n')).toBeDefined();
}, 60_000);

afterAll(async () => {
  for (const c of Object.values(clients)) c?.kill();
  await Promise.all([sondeA?.stop(), sondeB?.stop()]);
  server?.kill('SIGKILL');
  for (const ns of [NS_A, NS_B]) {
    try {
      ip('netns', 'del', ns);
    } catch {
      // not made, or gone
    }
  }
}, 30_000);

const clientSpan = (path: string) => (s: PrintedSpan): boolean => s.kind === 'CLIENT' && String(s.attributes['url.full'] ?? '').endsWith(path);
const serverSpan = (path: string) => (s: PrintedSpan): boolean => s.kind === 'SERVER' && s.attributes['url.path'] === path;

/** The injected header's ids, and the two spans that must carry them. */
async function checkTrace(echo: Echo): Promise<{ traceId: string; spanId: string }> {
  const [tp, ...more] = traceparents(echo);
  expect(more).toEqual([]);
  const m = TRACEPARENT.exec(tp ?? '');
  expect(m, `traceparent the server got: ${tp}`).not.toBeNull();
  const [, traceId, parentId] = m!;
  const [client] = await sondeA!.waitForSpans((s) => clientSpan(echo.path)(s) && s.traceId === traceId, 1);
  expect(client!.spanId).toBe(parentId);
  const [srv] = await sondeB!.waitForSpans((s) => serverSpan(echo.path)(s) && s.traceId === traceId, 1);
  expect(srv!.parentSpanId).toBe(client!.spanId);
  return { traceId: traceId!, spanId: parentId! };
}

describe('traceparent written into outgoing HTTP/1 requests (sk_msg)', () => {
  it('a GET gets one; the CLIENT span is its parent id, the SERVER span across the namespaces its child', async () => {
    const [echo] = await clients.basic.run([url(`/basic-${RUN}`)]);
    await checkTrace(echo!);
    // Right after the request line, and the rest of the head intact after it.
    expect(echo!.headers.map(([k]) => k.toLowerCase())).toEqual(['traceparent', 'host', 'user-agent', 'accept']);
  });

  it('a request that carries a traceparent reaches the server unchanged', async () => {
    const own = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
    const [echo] = await clients.present.run([url(`/present-${RUN}`), `header = "traceparent: ${own}"`]);
    expect(traceparents(echo!)).toEqual([own]);
    const [, traceId, parentId] = TRACEPARENT.exec(own)!;
    const [client] = await sondeA!.waitForSpans((s) => clientSpan(echo!.path)(s), 1);
    expect(client!.traceId).toBe(traceId);
    expect(client!.spanId).toBe(parentId);
  });

  it('keep-alive: one header per request, a span for every request, no false gap', async () => {
    const paths = [1, 2, 3, 4].map((i) => `/keep-${i}-${RUN}`);
    const echoes = await clients.keepAlive.run(paths.map(url));
    expect(echoes.map((e) => e.path)).toEqual(paths);
    expect(new Set(echoes.map((e) => e.port)).size).toBe(1); // one connection
    const ids = [];
    for (const e of echoes) ids.push(await checkTrace(e));
    expect(new Set(ids.map((i) => i.traceId)).size).toBe(paths.length);
  });

  it('a POST with a body: the body arrives whole, the spans agree', async () => {
    const body = `payload-${RUN}-${'x'.repeat(300)}`;
    const [echo] = await clients.post.run([url(`/post-${RUN}`), `data = "${body}"`]);
    expect(echo!.method).toBe('POST');
    expect(echo!.body).toBe(body);
    await checkTrace(echo!);
    const [client] = await sondeA!.waitForSpans((s) => clientSpan(echo!.path)(s), 1);
    expect(client!.attributes['http.request.method']).toBe('POST');
    expect(client!.attributes['http.response.status_code']).toBe(200);
  });

  it('with injection off (Sonde B tracing a client), or a process not traced, nothing is written', async () => {
    const [off] = await clients.off.run([url(`/off-${RUN}`)]);
    expect(traceparents(off!)).toEqual([]);
    const [client] = await sondeB!.waitForSpans((s) => clientSpan(off!.path)(s), 1);
    expect(client!.parentSpanId).toBe('');
    const [untraced] = await clients.untraced.run([url(`/untraced-${RUN}`)]);
    expect(traceparents(untraced!)).toEqual([]);
  });
});
