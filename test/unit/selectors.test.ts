import { describe, expect, it } from 'vitest';
import { compileGlob, parsePortSet, portInSet, selectorMatches } from '../../collector/discovery/selectors.js';

describe('selectors', () => {
  it('parses ports and ranges', () => {
    const s = parsePortSet('80, 443,8000-8999');
    expect(s).toEqual([[80, 80], [443, 443], [8000, 8999]]);
    expect(portInSet(s as never, 8500)).toBe(true);
    expect(portInSet(s as never, 9000)).toBe(false);
  });

  it('rejects bad ports with the offending part', () => {
    expect((parsePortSet('80,abc') as Error).message).toContain('"abc"');
    expect((parsePortSet('9000-8000') as Error).message).toContain('"9000-8000"');
    expect((parsePortSet('0') as Error).message).toContain('1-65535');
    expect(parsePortSet('')).toBeInstanceOf(Error);
  });

  it('globs match the whole path, * crossing slashes', () => {
    expect(compileGlob('*nginx').test('/usr/sbin/nginx')).toBe(true);
    expect(compileGlob('*/python3*').test('/usr/bin/python3.11')).toBe(true);
    expect(compileGlob('/usr/bin/node').test('/usr/local/bin/node')).toBe(false);
    expect(compileGlob('*/[pn]ode').test('/usr/bin/node')).toBe(true);
    expect(compileGlob('a.b').test('axb')).toBe(false);
  });

  it('every criterion of a selector must match', () => {
    const sel = { openPorts: [[8080, 8080]] as const, exePath: compileGlob('*/node') };
    expect(selectorMatches(sel, { pid: 1, exePath: '/usr/bin/node', ports: new Set([8080]) })).toBe(true);
    expect(selectorMatches(sel, { pid: 1, exePath: '/usr/bin/node', ports: new Set([9090]) })).toBe(false);
    expect(selectorMatches(sel, { pid: 1, exePath: '/usr/bin/python3', ports: new Set([8080]) })).toBe(false);
    expect(selectorMatches({ pids: new Set([42]) }, { pid: 42, exePath: '' })).toBe(true);
  });
});
