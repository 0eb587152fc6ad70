/**
 * `sonde doctor`: what this kernel and these privileges allow, and the
 * capture mode `run` would use, each with its reason.
 */
import { capabilityReport, effectiveCaps, type CapabilityReport } from '../ebpf/capabilities.js';
import { chooseCaptureMode, type FeatureProbe, type ModeChoice } from '../ebpf/captureMode.js';
import { probeKernelFeatures, type KernelFeatures } from '../ebpf/features.js';
import { readFileSync } from 'node:fs';
import { cgroup2Root } from '../ebpf/Injector.js';

export interface DoctorReport {
  readonly kernel: string;
  /** Node.js, the V8 flags it runs with (the sonde launcher's, or SONDE_NODE_FLAGS) and glibc's mmap threshold. */
  readonly runtime: string;
  readonly features: Record<string, FeatureProbe>;
  readonly capabilities: CapabilityReport;
  readonly captureMode: ModeChoice | { error: string };
  /** Features that are not needed to run, and whether they would work here. */
  readonly optional: Record<string, FeatureProbe>;
  readonly ready: boolean;
}

const LABELS: ReadonlyArray<readonly [keyof KernelFeatures, string]> = [
  ['btf', 'BTF'],
  ['tracefs', 'tracefs'],
  ['ringbuf', 'ring buffer'],
  ['tracepoints', 'tracepoints'],
  ['rawTracepoints', 'raw tracepoints'],
  ['sockLengthTracepoints', 'sock_*_length tracepoints'],
  ['kprobes', 'kprobes'],
  ['fentry', 'fentry'],
  ['uprobes', 'uprobes'],
];

export function runDoctor(bpfDir: string): DoctorReport {
  const f = probeKernelFeatures(bpfDir);
  const caps = capabilityReport(effectiveCaps(readFileSync('/proc/self/status', 'utf8')));
  const choice = chooseCaptureMode(f, 'auto', 'auto');
  const features: Record<string, FeatureProbe> = {};
  for (const [key, label] of LABELS) features[label] = f[key] as FeatureProbe;
  const mode = choice instanceof Error ? { error: choice.message } : choice;
  return {
    kernel: f.release,
    runtime: `Node.js ${process.version}, V8 flags: ${process.execArgv.join(' ') || 'none'}, malloc mmap threshold: ${process.env.MALLOC_MMAP_THRESHOLD_ ?? 'dynamic'}`,
    features,
    capabilities: caps,
    captureMode: mode,
    optional: {
      'context propagation': contextPropagation(mode, caps.held.includes('CAP_NET_ADMIN') || caps.held.includes('CAP_SYS_ADMIN')),
      'Node.js async context': f.uprobes.ok
        ? { ok: true, detail: 'uprobes on each traced node process (ebpf.node_async_context, on by default)' }
        : { ok: false, detail: `needs uprobes: ${f.uprobes.detail}` },
    },
    ready: !(choice instanceof Error) && caps.missing.length === 0,
  };
}

/** ebpf.context_propagation: headers: sock_ops on the cgroup v2 root, CAP_NET_ADMIN, tracepoint capture. */
function contextPropagation(mode: ModeChoice | { error: string }, netAdmin: boolean): FeatureProbe {
  const root = cgroup2Root();
  const why: string[] = [];
  if (root === null) why.push('no cgroup v2 mount');
  if (!netAdmin) why.push('CAP_NET_ADMIN missing');
  if ('mode' in mode && mode.mode !== 'tracepoint') why.push(`${mode.mode} capture cannot see sends through the sockmap`);
  return why.length === 0
    ? { ok: true, detail: `cgroup v2 at ${root!}, CAP_NET_ADMIN held (ebpf.context_propagation: headers; off by default)` }
    : { ok: false, detail: why.join('; ') };
}

export function formatDoctor(r: DoctorReport): string {
  const lines = [`Sonde doctor: kernel ${r.kernel}`, `Runtime: ${r.runtime}`, ''];
  for (const [label, p] of Object.entries(r.features)) {
    lines.push(`  ${label.padEnd(26)} ${p.ok ? 'yes' : 'no '}  ${p.detail}`);
  }
  lines.push('', 'Capabilities');
  lines.push(`  held     ${r.capabilities.held.join(', ') || 'none'}`);
  lines.push(`  missing  ${r.capabilities.missing.length ? r.capabilities.missing.map((c) => `${c} (${r.capabilities.reasons[c]})`).join(', ') : 'none'}`);
  lines.push('');
  if ('error' in r.captureMode) lines.push(`Capture mode: none: ${r.captureMode.error}`);
  else lines.push(`Capture mode: ${r.captureMode.mode} (${r.captureMode.reason})`);
  lines.push('', 'Optional');
  for (const [label, p] of Object.entries(r.optional)) lines.push(`  ${label.padEnd(26)} ${p.ok ? 'yes' : 'no '}  ${p.detail}`);
  lines.push('');
  lines.push(r.ready ? 'Ready: sonde run will work here.' : 'Not ready: see above.');
  return lines.join('\n');
}
