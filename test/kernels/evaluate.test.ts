/**
 * The kernel matrix's judge, on records written by hand: a good case
 * passes, and each way a case can go wrong is named, with the verifier log
 * of a refused program.
 */
import { describe, expect, it } from 'vitest';
import type { MatrixCase } from './cases.js';
import { evaluate, formatReport, parseRecords } from './evaluate.js';

const kase: MatrixCase = { id: '6.1-kprobe', kernel: '6.1', mode: 'kprobe', expect: { mode: 'kprobe', socketLookup: null } };

const doctor = {
  type: 'doctor',
  code: 0,
  report: {
    kernel: '6.1.0-56-cloud-amd64',
    features: { 'sock_*_length tracepoints': { ok: false, detail: 'no' } },
    capabilities: { held: [], missing: [], reasons: {} },
    captureMode: { mode: 'fentry', socketLookup: null, reason: 'fentry works' },
    ready: true,
  },
};

const REQUESTS: Array<[string, string, number, number]> = [
  ['GET', '/', 200, 40001],
  ['GET', '/status/404', 404, 40002],
  ['GET', '/status/500', 500, 40003],
  ['POST', '/echo', 200, 40004],
  ['GET', '/status/201', 201, 40005],
  ['GET', '/slow', 200, 40005],
  ['GET', '/big', 200, 40005],
];

function curlRecords(): object[] {
  return REQUESTS.map(([method, path, status, localPort]) => ({
    type: 'curl',
    urls: [path],
    code: 0,
    stderr: '',
    results: [{ url: `http://127.0.0.1:8080${path}`, path, method, status, localPort, localIp: '127.0.0.1', timeTotal: 0.05, sizeDownload: path === '/big' ? 1 << 20 : 6, sizeUpload: method === 'POST' ? 5000 : 0 }],
  }));
}

function span(i: number, [method, path, status, port]: [string, string, number, number]): object {
  const start = 1_000_000_000n + BigInt(i) * 100_000_000n;
  return {
    type: 'span',
    span: {
      name: method,
      kind: 'SERVER',
      startTimeUnixNano: String(start),
      endTimeUnixNano: String(start + 10_000_000n),
      status: { code: status >= 500 ? 'ERROR' : 'UNSET' },
      attributes: {
        'http.request.method': method,
        'url.path': path,
        'url.scheme': 'http',
        'http.response.status_code': status,
        'network.peer.address': '127.0.0.1',
        'network.peer.port': port,
        'client.port': port,
        'user_agent.original': 'curl/7.88.1',
        'http.request.body.size': method === 'POST' ? 5000 : 0,
        'http.response.body.size': path === '/big' ? 1 << 20 : 6,
      },
      resource: {},
    },
  };
}

const log = (fields: object): object => ({ type: 'sonde-log', line: JSON.stringify(fields) });
const lines = (recs: object[]): string => recs.map((r) => `${JSON.stringify(r)}\r\n`).join('');
const extra = { timedOut: false, seconds: 42, consoleTail: '' };

describe('kernel matrix judge', () => {
  it('passes a case where every request has its one span', () => {
    const text = lines([
      { type: 'hello', kernel: '6.1.0-56-cloud-amd64' },
      doctor,
      log({ level: 30, msg: 'sonde capturing', mode: 'kprobe', socketLookup: null, programs: 16 }),
      ...curlRecords(),
      ...REQUESTS.map((r, i) => span(i, r)),
      log({ level: 30, msg: 'sonde stopped', kernel: { lostDataRecords: 0 } }),
      { type: 'done', sondeExit: 0, elapsedMs: 1 },
    ]);
    const o = evaluate(kase, parseRecords(text), extra);
    expect(o.failures).toEqual([]);
    expect(o).toMatchObject({ pass: true, capture: 'kprobe', programs: 16, spansReceived: 7, doctor: 'ready, fentry' });
    expect(formatReport([o], '# m')).toContain('| 6.1.0-56-cloud-amd64 | kprobe | ready, fentry | kprobe | 16 | 7 / 7 | 42 s | pass |');
  });

  it('names a missing span, a wrong status, a wrong mode and a cut-off guest', () => {
    const spans = REQUESTS.map((r, i) => span(i, r)) as Array<{ span: { attributes: Record<string, unknown> } }>;
    spans[1]!.span.attributes['http.response.status_code'] = 200;
    const text = lines([
      doctor,
      log({ level: 30, msg: 'sonde capturing', mode: 'fentry', socketLookup: null, programs: 16 }),
      ...curlRecords(),
      ...spans.slice(0, 6),
    ]) + '{"type":"sp';
    const o = evaluate(kase, parseRecords(text), { ...extra, timedOut: true, consoleTail: 'last words' });
    expect(o.pass).toBe(false);
    expect(o.failures.join('\n')).toMatch(/sonde chose fentry, expected kprobe/);
    expect(o.failures.join('\n')).toMatch(/GET \/status\/404: http.response.status_code is 200, expected 404/);
    expect(o.failures.join('\n')).toMatch(/port 40005 \(GET \/status\/201, GET \/slow, GET \/big\): 2 server spans, expected 3/);
    expect(o.failures.join('\n')).toMatch(/timed out/);
    expect(o.failures.join('\n')).toMatch(/last words/);
  });

  it('reports the verifier log of a refused program', () => {
    const text = lines([
      doctor,
      log({ level: 50, msg: 'load ../sonde-kprobe.bpf.o: Permission denied (errno 13)', program: 'sonde_krp_tcp_recvmsg', verifierLog: '0: R1=ctx\ninvalid mem access' }),
      { type: 'done', sondeExit: 4, elapsedMs: 1 },
    ]);
    const o = evaluate(kase, parseRecords(text), extra);
    expect(o.pass).toBe(false);
    expect(o.verifier).toEqual({ program: 'sonde_krp_tcp_recvmsg', log: '0: R1=ctx\ninvalid mem access' });
    expect(o.capture).toMatch(/^refused: load/);
    const report = formatReport([o], '# m');
    expect(report).toContain('Verifier log of `sonde_krp_tcp_recvmsg`');
    expect(report).toContain('invalid mem access');
  });
});
