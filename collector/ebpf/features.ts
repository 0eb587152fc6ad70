/**
 * What this kernel can do, found by trying it: each probe program of
 * dist/bpf/probe.bpf.o is loaded and attached on its own. `sonde doctor`
 * prints the result; `sonde run` picks its capture mode from it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BpfObject } from './BpfObject.js';
import type { FeatureProbe, ModeFeatures } from './captureMode.js';
import { BTF_KIND_FUNC, libbpf } from './libbpf.js';

export interface KernelFeatures extends ModeFeatures {
  readonly release: string;
  readonly tracefs: FeatureProbe;
  readonly uprobes: FeatureProbe;
  /** sendfile reaches TCP through tcp_sendpage (kernels before 6.5). */
  readonly tcpSendpage: boolean;
}

const BPF_MAP_TYPE_RINGBUF = 27;

const TRACEFS_DIRS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

export function tracefsDir(): string | null {
  return TRACEFS_DIRS.find((d) => existsSync(join(d, 'events'))) ?? null;
}

const ok = (detail: string): FeatureProbe => ({ ok: true, detail });
const no = (detail: string): FeatureProbe => ({ ok: false, detail });

/** Load and attach one program of the probe object; nothing else loads. */
function tryProgram(objPath: string, program: string): FeatureProbe {
  const obj = BpfObject.open(objPath);
  if (obj instanceof Error) return no(obj.message);
  try {
    for (const name of obj.programNames) obj.setAutoload(name, name === program);
    const failure = obj.load();
    if (failure) return no(`load refused: ${failure.error.message.replace(/^load [^:]+: /, '')}`);
    const { failed } = obj.attachAll();
    if (failed.length > 0) return no(`attach refused: ${failed[0]!.error.message.replace(/^attach [^:]+: /, '')}`);
    return ok('loaded and attached a test program');
  } finally {
    obj.close();
  }
}

function kprobeHint(probe: FeatureProbe, tracefs: string | null): FeatureProbe {
  if (probe.ok) return probe;
  const pmu = existsSync('/sys/bus/event_source/devices/kprobe');
  const events = tracefs !== null && existsSync(join(tracefs, 'kprobe_events'));
  return pmu || events ? probe : no(`${probe.detail}; kernel built without CONFIG_KPROBES`);
}

function vmlinuxHasFunction(name: string): boolean {
  const btf = libbpf.loadVmlinuxBtf();
  if (btf === null) return false;
  try {
    return libbpf.btfFindByNameKind(btf, name, BTF_KIND_FUNC) > 0;
  } finally {
    libbpf.btfFree(btf);
  }
}

/**
 * Whether the kernel has a BPF helper, from the helper ids its own BTF
 * names (enum bpf_func_id). libbpf_probe_bpf_helper() cannot answer for
 * tracing programs (fentry/fexit need an attach target it does not give):
 * it returns -EOPNOTSUPP on every kernel.
 */
function vmlinuxHasHelper(name: string): boolean {
  try {
    return readFileSync('/sys/kernel/btf/vmlinux').includes(Buffer.from(`\0BPF_FUNC_${name}\0`));
  } catch {
    return false;
  }
}

export function probeKernelFeatures(bpfDir: string): KernelFeatures {
  const probeObj = join(bpfDir, 'probe.bpf.o');
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const tracefs = tracefsDir();
  const btf = existsSync('/sys/kernel/btf/vmlinux')
    ? ok('/sys/kernel/btf/vmlinux')
    : no('no /sys/kernel/btf/vmlinux: kernel built without CONFIG_DEBUG_INFO_BTF');
  const haveBtf = btf.ok;

  const sockLen =
    tracefs !== null &&
    existsSync(join(tracefs, 'events/sock/sock_send_length')) &&
    existsSync(join(tracefs, 'events/sock/sock_recv_length'));

  let fentry = haveBtf ? tryProgram(probeObj, 'probe_fentry') : no('needs BTF');
  if (fentry.ok && !vmlinuxHasHelper('get_func_ret')) {
    fentry = no('no bpf_get_func_ret helper (kernel before 5.17)');
  }

  return {
    release,
    btf,
    tracefs: tracefs !== null ? ok(tracefs) : no('not mounted: mount -t tracefs nodev /sys/kernel/tracing'),
    ringbuf:
      libbpf.probeMapType(BPF_MAP_TYPE_RINGBUF, null) === 1
        ? ok('BPF_MAP_TYPE_RINGBUF')
        : no('no BPF ring buffer (kernel before 5.8, or no privilege)'),
    tracepoints: tracefs !== null ? tryProgram(probeObj, 'probe_tracepoint') : no('tracefs not mounted'),
    rawTracepoints: tryProgram(probeObj, 'probe_raw_tp'),
    sockLengthTracepoints: sockLen
      ? ok('sock:sock_send_length and sock:sock_recv_length')
      : no('no sock:sock_{send,recv}_length tracepoints (kernel before 5.19)'),
    kprobes: kprobeHint(haveBtf ? tryProgram(probeObj, 'probe_kprobe') : no('needs BTF'), tracefs),
    fentry,
    uprobes: existsSync('/sys/bus/event_source/devices/uprobe/type')
      ? ok('uprobe PMU present')
      : no('no uprobe PMU (CONFIG_UPROBE_EVENTS)'),
    tcpSendpage: haveBtf && vmlinuxHasFunction('tcp_sendpage'),
  };
}
