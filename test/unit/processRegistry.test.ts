/**
 * Process selection decisions. The process table is a fixed list here so
 * every rule can be checked exactly; test/integration/selection.test.ts
 * runs the same code against real processes and the real kernel filter.
 */
import { describe, expect, it } from 'vitest';
import { Verdict } from '../../collector/ebpf/abi.js';
import { ProcessRegistry, type ProcSource } from '../../collector/discovery/ProcessRegistry.js';
import type { ProcessFacts } from '../../collector/discovery/procfs.js';
import { compileGlob } from '../../collector/discovery/selectors.js';

function table(procs: Record<number, string>, ports: Record<number, number[]> = {}): ProcSource & { procs: Record<number, string> } {
  return {
    procs,
    listPids: () => Object.keys(procs).map(Number),
    readProcess: (pid): ProcessFacts | null =>
      procs[pid] === undefined
        ? null
        : { pid, exePath: procs[pid]!, exeName: procs[pid]!.split('/').pop()!, commandLine: procs[pid]!, otelServiceName: undefined, otelResourceAttributes: undefined },
    portOwners: (selected) => {
      const out = new Map<number, Set<number>>();
      for (const [pid, list] of Object.entries(ports)) {
        const hit = list.filter(selected);
        if (hit.length) out.set(Number(pid), new Set(hit));
      }
      return out;
    },
  };
}

const SELF = 1;

describe('trace-all mode (no selector)', () => {
  it('preloads only the exclusions; everything else is the kernel default', () => {
    const src = table({ 1: '/usr/bin/node', 10: '/usr/sbin/nginx', 11: '/opt/jaeger/jaeger' });
    const reg = new ProcessRegistry({ instrument: [], exclude: [{ exePath: compileGlob('*/jaeger') }] }, SELF, src);
    expect(reg.traceAll).toBe(true);
    const changes = reg.seed();
    expect(changes).toContainEqual({ pid: 11, verdict: Verdict.Ignore });
    expect(changes).toContainEqual({ pid: 1, verdict: Verdict.Ignore }); // Sonde itself
    expect(reg.isTraced(10)).toBe(true);
    expect(reg.isTraced(11)).toBe(false);
  });

  it('judges a process it has never seen on its first record', () => {
    const src = table({});
    const reg = new ProcessRegistry({ instrument: [], exclude: [{ exePath: compileGlob('*/otelcol*') }] }, SELF, src);
    reg.seed();
    src.procs[42] = '/usr/bin/otelcol-contrib';
    src.procs[43] = '/usr/bin/curl';
    expect(reg.isTraced(42)).toBe(false);
    expect(reg.isTraced(43)).toBe(true);
  });
});

describe('selector mode', () => {
  it('selects by port at start, by exe on exec, and a kernel port match is confirmed', () => {
    const src = table({ 1: '/usr/bin/node', 20: '/usr/bin/python3', 21: '/usr/bin/python3' }, { 20: [8080] });
    const reg = new ProcessRegistry({ instrument: [{ openPorts: [[8000, 8999]] }, { exePath: compileGlob('*/curl') }], exclude: [] }, SELF, src);
    expect(reg.seed()).toContainEqual({ pid: 20, verdict: Verdict.Trace });
    expect(reg.isTraced(21)).toBe(false);

    src.procs[30] = '/usr/bin/curl';
    reg.onExec(30, 'curl', Verdict.Pending);
    src.procs[31] = '/bin/ls';
    reg.onExec(31, 'ls', Verdict.Pending);
    expect(reg.takeChanges()).toEqual([
      { pid: 30, verdict: Verdict.Trace },
      { pid: 31, verdict: Verdict.Ignore },
    ]);
    reg.onPort(21, 8443); // the kernel traced it already: nothing to change, but now it counts
    expect(reg.takeChanges()).toEqual([]);
    expect(reg.isTraced(21)).toBe(true);
  });

  it('every criterion of a selector must hold: a port match of the wrong executable is revoked', () => {
    const src = table({ 5: '/usr/bin/python3' });
    const reg = new ProcessRegistry({ instrument: [{ openPorts: [[80, 80]], exePath: compileGlob('*/nginx') }], exclude: [] }, SELF, src);
    reg.seed();
    reg.onPort(5, 80);
    expect(reg.takeChanges()).toEqual([{ pid: 5, verdict: Verdict.Ignore }]);
  });

  it('an exec of a process gone before /proc is read is named by its comm', () => {
    const reg = new ProcessRegistry({ instrument: [{ pids: new Set([77]) }], exclude: [] }, SELF, table({}));
    reg.onExec(77, 'shortlived', Verdict.Pending);
    expect(reg.factsOf(77)?.exeName).toBe('shortlived');
    expect(reg.isTraced(77)).toBe(true);
  });

  it('a process gone (or a zombie) before /proc is read is judged and named by what the kernel saw at exec', () => {
    const src = table({});
    const reg = new ProcessRegistry({ instrument: [{ exePath: compileGlob('*/bin/curl') }], exclude: [] }, SELF, src);
    reg.onExec(78, 'curl', Verdict.Pending, { filename: '/usr/bin/curl', otelServiceName: 'fetcher', otelResourceAttributes: 'team=a' });
    expect(reg.isTraced(78)).toBe(true);
    expect(reg.factsOf(78)).toMatchObject({ exePath: '/usr/bin/curl', exeName: 'curl', otelServiceName: 'fetcher', otelResourceAttributes: 'team=a' });
    // A zombie: /proc still lists it, but with no executable, command line or environment.
    const zombie: ProcSource = { ...src, readProcess: (pid) => ({ pid, exePath: '', exeName: 'sh', commandLine: '', otelServiceName: undefined, otelResourceAttributes: undefined }) };
    const reg2 = new ProcessRegistry({ instrument: [{ exePath: compileGlob('*/bin/curl') }], exclude: [] }, SELF, zombie);
    reg2.onExec(79, 'curl', Verdict.Pending, { filename: '/usr/bin/curl', otelServiceName: undefined, otelResourceAttributes: undefined });
    expect(reg2.takeChanges()).toEqual([{ pid: 79, verdict: Verdict.Trace }]);
    // A relative file name names the process but cannot match a path.
    reg2.onExec(80, 'curl', Verdict.Pending, { filename: './curl', otelServiceName: undefined, otelResourceAttributes: undefined });
    expect(reg2.factsOf(80)).toMatchObject({ exePath: '', exeName: 'curl' });
    expect(reg2.isTraced(80)).toBe(false);
  });

  it('/proc wins over the exec record while the process is there', () => {
    const src = table({ 81: '/usr/bin/python3.11' });
    const reg = new ProcessRegistry({ instrument: [], exclude: [] }, SELF, src);
    reg.onExec(81, 'python3', Verdict.Trace, { filename: '/usr/local/bin/tool', otelServiceName: 'svc', otelResourceAttributes: undefined });
    expect(reg.factsOf(81)).toMatchObject({ exePath: '/usr/bin/python3.11', exeName: 'python3.11', otelServiceName: 'svc' });
  });

  it('a process ignored before keeps being ignored after an exec the kernel marked pending', () => {
    const src = table({ 40: '/bin/sh' });
    const reg = new ProcessRegistry({ instrument: [{ exePath: compileGlob('*/curl') }], exclude: [] }, SELF, src);
    reg.seed();
    reg.onExec(40, 'sh', Verdict.Pending); // exec'd another shell
    expect(reg.takeChanges()).toEqual([{ pid: 40, verdict: Verdict.Ignore }]);
    src.procs[40] = '/usr/bin/curl';
    reg.onExec(40, 'curl', Verdict.Pending);
    expect(reg.takeChanges()).toEqual([{ pid: 40, verdict: Verdict.Trace }]);
  });

  it('forgets processes that are gone at the next rescan', () => {
    const src = table({ 20: '/usr/bin/curl' });
    const reg = new ProcessRegistry({ instrument: [{ exePath: compileGlob('*/curl') }], exclude: [] }, SELF, src);
    reg.seed();
    expect(reg.isTraced(20)).toBe(true);
    delete src.procs[20];
    reg.rescan();
    src.procs[20] = '/bin/sh'; // pid reused by another program
    reg.rescan();
    expect(reg.isTraced(20)).toBe(false);
  });

  it('a process younger than the minimum age waits, keeping the port it was seen on, and is judged again when of age', () => {
    const ages: Record<number, number> = { 10: 60_000, 11: 200 };
    const src: ProcSource = { ...table({ 10: '/usr/bin/node', 11: '/usr/bin/node' }), ageMs: (pid) => ages[pid] ?? null };
    const reg = new ProcessRegistry({ instrument: [{ openPorts: [[8080, 8080]] }], exclude: [], minAgeMs: 1000 }, 1, src);
    reg.seed();
    reg.onPort(10, 8080);
    reg.onPort(11, 8080);
    expect(reg.isTraced(10)).toBe(true);
    expect(reg.isTraced(11)).toBe(false);
    reg.matureDue(Date.now());
    expect(reg.isTraced(11)).toBe(false);
    reg.takeChanges();
    ages[11] = 1200;
    reg.matureDue(Date.now() + 1000);
    expect(reg.isTraced(11)).toBe(true);
    expect(reg.takeChanges()).toEqual([{ pid: 11, verdict: Verdict.Trace }]);
  });
});
