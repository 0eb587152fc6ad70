/**
 * Linux capabilities of this process (CapEff in /proc/self/status), and
 * which of them Sonde needs. Checked at start so a missing privilege is
 * named, not discovered as an EPERM halfway through loading.
 */
import { readFileSync } from 'node:fs';

export const Cap = {
  CAP_DAC_READ_SEARCH: 2,
  CAP_NET_ADMIN: 12,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;
export type CapName = keyof typeof Cap;

export interface CapabilityReport {
  readonly held: CapName[];
  /** Capabilities without which `sonde run` cannot work. */
  readonly missing: CapName[];
  /** One line per capability: what it is needed for. */
  readonly reasons: Record<CapName, string>;
}

export const CAP_REASONS: Record<CapName, string> = {
  CAP_BPF: 'load BPF programs and create maps',
  CAP_PERFMON: 'attach tracepoints/kprobes and read kernel memory from BPF',
  CAP_SYS_ADMIN: 'stands in for CAP_BPF + CAP_PERFMON on kernels before 5.8',
  CAP_SYS_PTRACE: "read other users' /proc/PID/exe, cmdline and environ (service names)",
  CAP_DAC_READ_SEARCH: 'read /proc/PID/fd of other users (which process owns a port)',
  CAP_SYS_RESOURCE: 'raise RLIMIT_MEMLOCK; needed only before 5.11 (memcg accounting since)',
  CAP_NET_ADMIN: 'ebpf.context_propagation: headers only: attach sock_ops to the cgroup and sk_msg to a sockhash',
};

/** Parse the hex CapEff mask of a /proc/PID/status text. */
export function effectiveCaps(status: string): bigint {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export interface CapabilityNeeds {
  /** ebpf.context_propagation is headers: sock_ops and sk_msg need CAP_NET_ADMIN too. */
  readonly contextPropagation?: boolean;
}

export function capabilityReport(mask: bigint, needs: CapabilityNeeds = {}): CapabilityReport {
  const has = (c: CapName): boolean => (mask & (1n << BigInt(Cap[c]))) !== 0n;
  const held = (Object.keys(Cap) as CapName[]).filter(has);
  const missing: CapName[] = [];
  if (!has('CAP_SYS_ADMIN')) {
    if (!has('CAP_BPF')) missing.push('CAP_BPF');
    if (!has('CAP_PERFMON')) missing.push('CAP_PERFMON');
  }
  if (!has('CAP_SYS_PTRACE')) missing.push('CAP_SYS_PTRACE');
  if (!has('CAP_DAC_READ_SEARCH')) missing.push('CAP_DAC_READ_SEARCH');
  if (needs.contextPropagation && !has('CAP_NET_ADMIN') && !has('CAP_SYS_ADMIN')) missing.push('CAP_NET_ADMIN');
  return { held, missing, reasons: CAP_REASONS };
}

export function ownCapabilities(needs: CapabilityNeeds = {}): CapabilityReport {
  return capabilityReport(effectiveCaps(readFileSync('/proc/self/status', 'utf8')), needs);
}
