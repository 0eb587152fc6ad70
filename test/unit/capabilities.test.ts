import { describe, expect, it } from 'vitest';
import { Cap, capabilityReport, effectiveCaps } from '../../collector/ebpf/capabilities.js';

const mask = (...caps: Array<keyof typeof Cap>): bigint => caps.reduce((m, c) => m | (1n << BigInt(Cap[c])), 0n);

describe('capabilities', () => {
  it('reads CapEff from /proc/PID/status', () => {
    expect(effectiveCaps('Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n')).toBe(0x1ffffffffffn);
    expect(effectiveCaps('nothing here')).toBe(0n);
  });

  it('root with every capability misses nothing', () => {
    expect(capabilityReport(0x1ffffffffffn).missing).toEqual([]);
  });

  it('names exactly what is missing', () => {
    expect(capabilityReport(0n).missing).toEqual(['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH']);
    expect(capabilityReport(mask('CAP_BPF', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH')).missing).toEqual(['CAP_PERFMON']);
  });

  it('CAP_SYS_ADMIN stands in for CAP_BPF and CAP_PERFMON', () => {
    expect(capabilityReport(mask('CAP_SYS_ADMIN', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH')).missing).toEqual([]);
  });
});
