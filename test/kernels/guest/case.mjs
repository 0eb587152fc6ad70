// One case of the kernel matrix, run inside a qemu guest (by /init) or
// directly on the host. Plain Node, no dependencies: the guest has no
// TypeScript toolchain.
//
//   node test/kernels/guest/case.mjs --out FILE --case '{"mode":"kprobe"}'
//   node test/kernels/guest/case.mjs --out /dev/ttyS1 --case-b64 BASE64
//
// Case: { id, mode: 'auto'|'fentry'|'kprobe'|'tracepoint', socketLookup?, port?,
// logLevel? (sonde's; 'debug' shows libbpf's own lines), readyTimeoutMs?, spansTimeoutMs? }.
// It runs `sonde doctor --json`, starts the Node test server, `sonde run
// --print json --open-port PORT [--capture-mode M]`, sends the requests
// below with curl, waits for the spans, stops sonde, and writes what it saw
// as JSON lines to FILE: one record per fact, written as it happens, so a
// guest that hangs still tells how far it got. The checks are made by the
// host (test/kernels/evaluate.ts).
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, realpathSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { release } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(import.meta.dirname, '../../..');
const args = new Map();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i], process.argv[i + 1]);
const kase = JSON.parse(args.has('--case-b64') ? Buffer.from(args.get('--case-b64'), 'base64').toString('utf8') : (args.get('--case') ?? '{}'));
const port = Number(kase.port ?? 8080);
const out = openSync(args.get('--out') ?? '/dev/stdout', 'a');
const t0 = Date.now();

// Under TCG the guest runs some 20-50 times slower than the host.
const READY_MS = Number(kase.readyTimeoutMs ?? 120_000);
const SPANS_MS = Number(kase.spansTimeoutMs ?? 45_000);

function record(type, fields = {}) {
  writeSync(out, `${JSON.stringify({ type, ms: Date.now() - t0, ...fields })}\n`);
}

function progress(msg) {
  process.stdout.write(`case: +${((Date.now() - t0) / 1000).toFixed(1)}s ${msg}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// On the host, the server and sonde die with this script, however it ends
// (util-linux setpriv; the guest, whose setpriv is busybox's, without
// --pdeathsig, powers off instead).
const SETPRIV = existsSync('/usr/bin/setpriv') && !realpathSync('/usr/bin/setpriv').endsWith('busybox') ? '/usr/bin/setpriv' : null;
function spawnTied(cmd, argv, opts) {
  return SETPRIV ? spawn(SETPRIV, ['--pdeathsig', 'KILL', cmd, ...argv], opts) : spawn(cmd, argv, opts);
}

async function waitFor(probe, what, timeoutMs, everyMs = 50) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function run(cmd, argv, timeoutMs) {
  return new Promise((resolve) => {
    execFile(cmd, argv, { cwd: ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr, error: err && typeof err.code !== 'number' ? String(err.message) : undefined });
    });
  });
}

function canConnect() {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** The requests of every case: 7 requests in 5 connections. */
const REQUESTS = [
  { urls: ['/'] },
  { urls: ['/status/404'] },
  { urls: ['/status/500'] },
  { urls: ['/echo'], extra: ['--data-binary', 'x'.repeat(5000)] },
  { urls: ['/status/201', '/slow?ms=30', '/big'], keepAlive: true },
];

async function curl(urls, extra = []) {
  const outputs = urls.flatMap((u) => ['-o', '/dev/null', `http://127.0.0.1:${port}${u}`]);
  const r = await run('curl', ['-s', '-S', '-m', '60', '-w', '%{json}\\n', ...extra, ...outputs], 90_000);
  const results = r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const j = JSON.parse(line);
      return {
        url: String(j.url_effective),
        path: new URL(String(j.url_effective)).pathname,
        method: extra.includes('--data-binary') ? 'POST' : 'GET',
        status: Number(j.http_code),
        localPort: Number(j.local_port),
        localIp: String(j.local_ip),
        timeTotal: Number(j.time_total),
        sizeDownload: Number(j.size_download),
        sizeUpload: Number(j.size_upload),
      };
    });
  return { code: r.code, stderr: r.stderr, results };
}

async function main() {
  record('hello', { kernel: release(), node: process.version, case: kase });
  progress(`kernel ${release()}, case ${JSON.stringify(kase)}`);

  const doctor = await run(join(ROOT, 'sonde'), ['doctor', '--json'], READY_MS);
  let report = null;
  try {
    report = JSON.parse(doctor.stdout);
  } catch {
    // recorded raw below
  }
  record('doctor', { code: doctor.code, report, stdout: report ? undefined : doctor.stdout, stderr: doctor.stderr });
  progress(`doctor exited ${doctor.code}`);

  const server = spawnTied(process.execPath, [join(ROOT, 'test/peers/node-server.mjs'), String(port), '127.0.0.1'], { stdio: 'ignore' });
  let up = false;
  await waitFor(() => {
    if (server.exitCode !== null) throw new Error(`node server exited with ${server.exitCode}`);
    void canConnect().then((ok) => (up = up || ok));
    return up;
  }, `the node server on port ${port}`, 60_000);
  record('server', { pid: server.pid, port });
  progress(`server ${server.pid} listening on ${port}`);

  const sondeArgs = ['run', '--print', 'json', '--open-port', String(port)];
  if (kase.mode && kase.mode !== 'auto') sondeArgs.push('--capture-mode', kase.mode);
  if (kase.socketLookup && kase.socketLookup !== 'auto') sondeArgs.push('--socket-lookup', kase.socketLookup);
  const sonde = spawnTied(join(ROOT, 'sonde'), sondeArgs, {
    cwd: ROOT,
    env: { ...process.env, OTEL_EBPF_LOG_LEVEL: kase.logLevel ?? 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  record('sonde-start', { pid: sonde.pid, args: sondeArgs });
  const spans = [];
  let capturing = false;
  let sondeExit = null;
  const exited = new Promise((resolve) =>
    sonde.on('exit', (code, signal) => {
      sondeExit = code ?? (signal ? `signal ${signal}` : -1);
      resolve(sondeExit);
    }),
  );
  const stdoutDone = new Promise((resolve) =>
    createInterface({ input: sonde.stdout }).on('line', (line) => {
      if (!line.trim()) return;
      try {
        const span = JSON.parse(line);
        spans.push(span);
        record('span', { span });
      } catch {
        record('sonde-stdout', { line });
      }
    }).on('close', resolve),
  );
  const stderrDone = new Promise((resolve) =>
    createInterface({ input: sonde.stderr }).on('line', (line) => {
      record('sonde-log', { line });
      try {
        const l = JSON.parse(line);
        if (l.msg === 'sonde capturing') capturing = true;
        if (l.level >= 50 || l.msg === 'sonde capturing' || l.msg === 'sonde stopped') progress(`sonde: ${l.msg}`);
      } catch {
        progress(`sonde: ${line}`);
      }
    }).on('close', resolve),
  );

  try {
    await waitFor(() => {
      if (sondeExit !== null) throw new Error(`sonde exited with ${sondeExit} before capturing`);
      return capturing;
    }, 'sonde to start capturing', READY_MS);
    progress('sonde capturing; sending requests');

    const ports = [];
    for (const req of REQUESTS) {
      const r = await curl(req.urls, req.extra);
      record('curl', { ...req, extra: undefined, code: r.code, stderr: r.stderr, results: r.results });
      for (const x of r.results) ports.push(x.localPort);
    }
    const expected = REQUESTS.reduce((n, r) => n + r.urls.length, 0);
    const mine = () => spans.filter((s) => s.kind === 'SERVER' && ports.includes(s.attributes?.['client.port'])).length;
    try {
      await waitFor(() => mine() >= expected, `${expected} server spans`, SPANS_MS, 100);
      await sleep(1500); // anything extra (a duplicate) shows up now
    } catch (e) {
      record('error', { message: e.message });
    }
    progress(`${mine()} of ${expected} server spans`);
  } catch (e) {
    record('error', { message: e.message });
    progress(`error: ${e.message}`);
  } finally {
    if (sondeExit === null) sonde.kill('SIGINT');
    const killer = setTimeout(() => sonde.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(killer);
    await Promise.all([stdoutDone, stderrDone]);
    server.kill('SIGTERM');
  }
  record('done', { sondeExit, elapsedMs: Date.now() - t0 });
  progress(`done, sonde exited ${sondeExit}`);
}

main()
  .catch((e) => {
    record('error', { message: String(e?.stack ?? e) });
    record('done', { sondeExit: null, elapsedMs: Date.now() - t0 });
  })
  .finally(() => {
    closeSync(out);
    process.exit(0);
  });
