/**
 * The kernel matrix: which kernel runs which capture mode, and what Sonde
 * must choose there. Debian's cloud kernels boot in qemu (TCG); `host` is
 * the kernel this machine runs (6.18 on the development machines: no
 * kprobes, no fentry, so tracepoint mode only), tested without qemu.
 */
import type { CaptureMode, RequestedMode, RequestedSocketLookup, SocketLookup } from '../../collector/ebpf/captureMode.js';

/** A kernel series fetched from Debian (scripts/kernels/fetch.sh), or the host's own. */
export type KernelSeries = '6.1' | '6.12' | 'host';

export interface MatrixCase {
  readonly id: string;
  readonly kernel: KernelSeries;
  readonly mode: RequestedMode;
  readonly socketLookup?: RequestedSocketLookup;
  /**
   * What `sonde run` must report in its "sonde capturing" line; 'doctor':
   * what `sonde doctor` said on that kernel (the host's kernel is not known
   * in advance), for the mode asked for.
   */
  readonly expect: Expectation | 'doctor';
}

export interface Expectation {
  readonly mode: CaptureMode;
  readonly socketLookup: SocketLookup | null;
}

const c = (
  kernel: KernelSeries,
  mode: RequestedMode,
  expectMode: CaptureMode | 'doctor',
  expectLookup: SocketLookup | null = null,
  socketLookup?: RequestedSocketLookup,
): MatrixCase => ({
  id: `${kernel}-${mode}${socketLookup ? `-${socketLookup}` : ''}`,
  kernel,
  mode,
  ...(socketLookup ? { socketLookup } : {}),
  expect: expectMode === 'doctor' ? 'doctor' : { mode: expectMode, socketLookup: expectLookup },
});

export const CASES: readonly MatrixCase[] = [
  // 6.1: kprobes, fentry and BTF, but no sock:sock_{send,recv}_length.
  c('6.1', 'auto', 'fentry'),
  c('6.1', 'fentry', 'fentry'),
  c('6.1', 'kprobe', 'kprobe'),
  c('6.1', 'tracepoint', 'tracepoint', 'fd-table'),
  // 6.12: everything.
  c('6.12', 'auto', 'fentry'),
  c('6.12', 'fentry', 'fentry'),
  c('6.12', 'kprobe', 'kprobe'),
  c('6.12', 'tracepoint', 'tracepoint', 'sock-length-tracepoints'),
  c('6.12', 'tracepoint', 'tracepoint', 'fd-table', 'fd-table'),
  // This machine's kernel, without qemu (6.18 on the development machines:
  // no kprobes, fentry refused, so auto is tracepoint mode there).
  c('host', 'auto', 'doctor'),
  c('host', 'tracepoint', 'doctor'),
  c('host', 'tracepoint', 'tracepoint', 'fd-table', 'fd-table'),
];

/** The qemu kernel series the cases need. */
export function seriesOf(cases: readonly MatrixCase[]): Array<Exclude<KernelSeries, 'host'>> {
  return [...new Set(cases.map((x) => x.kernel))].filter((k): k is Exclude<KernelSeries, 'host'> => k !== 'host');
}
