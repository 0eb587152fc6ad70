/**
 * Which capture mode `run` uses (ARCHITECTURE decision 1), decided from
 * probed kernel features. Pure, so every combination is unit-tested.
 */

export type CaptureMode = 'fentry' | 'kprobe' | 'tracepoint';
export type RequestedMode = 'auto' | CaptureMode;
/**
 * The two data paths of tracepoint mode: sock:sock_{send,recv}_length alone
 * (5.19+: the socket is their argument, the buffer the syscall's; no
 * syscall tracepoint at all), or syscall tracepoints with the socket found
 * through the task's file table (any kernel from 5.8).
 */
export type SocketLookup = 'sock-length-tracepoints' | 'fd-table';
export type RequestedSocketLookup = 'auto' | SocketLookup;

export interface FeatureProbe {
  readonly ok: boolean;
  readonly detail: string;
}

/** The probed facts the choice depends on. */
export interface ModeFeatures {
  readonly btf: FeatureProbe;
  readonly ringbuf: FeatureProbe;
  readonly tracepoints: FeatureProbe;
  readonly rawTracepoints: FeatureProbe;
  readonly sockLengthTracepoints: FeatureProbe;
  readonly kprobes: FeatureProbe;
  readonly fentry: FeatureProbe;
}

export interface ModeChoice {
  readonly mode: CaptureMode;
  /** Only in tracepoint mode. */
  readonly socketLookup: SocketLookup | null;
  readonly reason: string;
}

const REQUIRED = ['btf', 'ringbuf', 'tracepoints', 'rawTracepoints'] as const;

export function chooseCaptureMode(
  f: ModeFeatures,
  requested: RequestedMode = 'auto',
  lookup: RequestedSocketLookup = 'auto',
): ModeChoice | Error {
  const missing = REQUIRED.filter((k) => !f[k].ok);
  if (missing.length > 0) {
    return new Error(
      `this kernel cannot run Sonde: ${missing.map((k) => `${k} (${f[k].detail})`).join('; ')}`,
    );
  }
  const tracepointChoice = (why: string): ModeChoice | Error => {
    if (lookup === 'sock-length-tracepoints' && !f.sockLengthTracepoints.ok) {
      return new Error(`socket lookup sock-length-tracepoints unavailable: ${f.sockLengthTracepoints.detail}`);
    }
    const socketLookup: SocketLookup =
      lookup === 'auto' ? (f.sockLengthTracepoints.ok ? 'sock-length-tracepoints' : 'fd-table') : lookup;
    const how =
      socketLookup === 'sock-length-tracepoints'
        ? 'data from sock:sock_{send,recv}_length, no syscall tracepoints'
        : lookup === 'fd-table'
          ? 'syscall tracepoints, sockets found through the task file table (requested)'
          : `syscall tracepoints, sockets found through the task file table (${f.sockLengthTracepoints.detail})`;
    return { mode: 'tracepoint', socketLookup, reason: `${why}; ${how}` };
  };

  switch (requested) {
    case 'fentry':
      return f.fentry.ok
        ? { mode: 'fentry', socketLookup: null, reason: 'requested' }
        : new Error(`capture mode fentry unavailable: ${f.fentry.detail}`);
    case 'kprobe':
      return f.kprobes.ok
        ? { mode: 'kprobe', socketLookup: null, reason: 'requested' }
        : new Error(`capture mode kprobe unavailable: ${f.kprobes.detail}`);
    case 'tracepoint':
      return tracepointChoice('requested');
    case 'auto':
      if (f.fentry.ok) return { mode: 'fentry', socketLookup: null, reason: 'fentry works: cheapest probes on tcp_sendmsg/tcp_recvmsg' };
      if (f.kprobes.ok) {
        return { mode: 'kprobe', socketLookup: null, reason: `kprobes work, fentry does not (${f.fentry.detail})` };
      }
      return tracepointChoice(`no kprobes (${f.kprobes.detail}), no fentry (${f.fentry.detail})`);
  }
}
