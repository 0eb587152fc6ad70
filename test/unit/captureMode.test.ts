import { describe, expect, it } from 'vitest';
import { chooseCaptureMode, type FeatureProbe, type ModeFeatures } from '../../collector/ebpf/captureMode.js';

const yes: FeatureProbe = { ok: true, detail: 'works' };
const no = (detail: string): FeatureProbe => ({ ok: false, detail });

function kernel(over: Partial<ModeFeatures> = {}): ModeFeatures {
  return {
    btf: yes,
    ringbuf: yes,
    tracepoints: yes,
    rawTracepoints: yes,
    sockLengthTracepoints: yes,
    kprobes: yes,
    fentry: yes,
    ...over,
  };
}

// The kernels the project runs on (ARCHITECTURE decision 1).
const devMachine = kernel({ kprobes: no('kernel built without CONFIG_KPROBES'), fentry: no('load refused: Operation not permitted') });
const debian61 = kernel({ sockLengthTracepoints: no('kernel before 5.19') });
const debian612 = kernel();
const noFentry = kernel({ fentry: no('no bpf_get_func_ret helper') });

describe('capture mode selection', () => {
  it('auto prefers fentry, then kprobes, then tracepoints', () => {
    expect(chooseCaptureMode(debian612)).toMatchObject({ mode: 'fentry', socketLookup: null });
    expect(chooseCaptureMode(noFentry)).toMatchObject({ mode: 'kprobe', socketLookup: null });
    expect(chooseCaptureMode(devMachine)).toMatchObject({ mode: 'tracepoint', socketLookup: 'sock-length-tracepoints' });
  });

  it('auto on the development kernel says why kprobes and fentry were passed over', () => {
    const c = chooseCaptureMode(devMachine);
    if (c instanceof Error) throw c;
    expect(c.reason).toContain('CONFIG_KPROBES');
    expect(c.reason).toContain('Operation not permitted');
  });

  it('tracepoint mode falls back to the task file table without sock_*_length (Debian 6.1)', () => {
    const c = chooseCaptureMode(debian61, 'tracepoint');
    expect(c).toMatchObject({ mode: 'tracepoint', socketLookup: 'fd-table' });
    expect((c as { reason: string }).reason).toContain('kernel before 5.19');
  });

  it('the file-table lookup can be forced where both work', () => {
    expect(chooseCaptureMode(devMachine, 'tracepoint', 'fd-table')).toMatchObject({ socketLookup: 'fd-table' });
    expect(chooseCaptureMode(devMachine, 'auto', 'fd-table')).toMatchObject({ mode: 'tracepoint', socketLookup: 'fd-table' });
  });

  it('a forced mode the kernel refuses is an error naming the reason', () => {
    const k = chooseCaptureMode(devMachine, 'kprobe');
    expect(k).toBeInstanceOf(Error);
    expect((k as Error).message).toBe('capture mode kprobe unavailable: kernel built without CONFIG_KPROBES');
    expect(chooseCaptureMode(devMachine, 'fentry')).toBeInstanceOf(Error);
    expect(chooseCaptureMode(debian61, 'tracepoint', 'sock-length-tracepoints')).toBeInstanceOf(Error);
  });

  it('forced modes are honoured where available', () => {
    expect(chooseCaptureMode(debian612, 'kprobe')).toMatchObject({ mode: 'kprobe', reason: 'requested' });
    expect(chooseCaptureMode(debian612, 'tracepoint')).toMatchObject({ mode: 'tracepoint', socketLookup: 'sock-length-tracepoints' });
    expect(chooseCaptureMode(debian61, 'fentry')).toMatchObject({ mode: 'fentry' });
  });

  it('without BTF or a ring buffer nothing runs, and the message says which', () => {
    const e = chooseCaptureMode(kernel({ btf: no('no /sys/kernel/btf/vmlinux'), ringbuf: no('kernel before 5.8') }));
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toContain('btf (no /sys/kernel/btf/vmlinux)');
    expect((e as Error).message).toContain('ringbuf (kernel before 5.8)');
  });
});
