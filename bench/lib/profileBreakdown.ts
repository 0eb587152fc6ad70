/**
 * Where Sonde's main thread spends its time, from a V8 CPU profile
 * (SONDE_CPU_PROFILE): each sample goes to the part of Sonde that owns the
 * nearest frame of Sonde's own code or of a dependency, so time in Node's
 * builtins (Buffer, streams, http2) is charged to whoever called them.
 */

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface PartShare {
  readonly part: string;
  /** Of the main thread's busy (non-idle) time. */
  readonly share: number;
}

/** Parts in the order of the pipeline; the first whose pattern matches a frame's URL owns it. */
const PARTS: ReadonlyArray<readonly [string, RegExp]> = [
  ['ring buffer drain and record decoding', /\/collector\/ebpf\//],
  ['connection tracking', /\/collector\/conn\//],
  ['HTTP/1 parsing', /\/protocols\//],
  ['process discovery', /\/collector\/discovery\//],
  ['span building', /\/collector\/(spans|pipeline)\//],
  ['OTLP encoding', /\/collector\/export\/otlpEncoder/],
  ['OTLP transport (queue, grpc-js)', /\/collector\/export\/|node_modules\/(@grpc|@opentelemetry)\//],
  ['other Sonde code and dependencies', /\/dist\/|node_modules\//],
];
const GC = 'garbage collection (main thread)';
const RUNTIME = 'Node.js runtime (event loop, timers, I/O)';
const NATIVE = 'V8 and native code outside JavaScript';

export function breakdown(profile: CpuProfile): PartShare[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owner = new Map<number, string | null>();
  const ownerOf = (id: number): string | null => {
    const known = owner.get(id);
    if (known !== undefined) return known;
    const node = byId.get(id)!;
    const fn = node.callFrame.functionName;
    let part: string | null;
    if (fn === '(idle)') part = null;
    else if (fn === '(garbage collector)') part = GC;
    else if (fn === '(program)') part = NATIVE;
    else {
      part = PARTS.find(([, re]) => re.test(node.callFrame.url))?.[0] ?? null;
      if (part === null) {
        const up = parent.get(id);
        const upPart = up === undefined ? null : ownerOf(up);
        part = upPart === null || upPart === NATIVE ? RUNTIME : upPart;
      }
    }
    owner.set(id, part);
    return part;
  };
  const time = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const part = ownerOf(id);
    const dt = profile.timeDeltas[i] ?? 0;
    if (part === null || dt <= 0) return;
    time.set(part, (time.get(part) ?? 0) + dt);
    busy += dt;
  });
  return [...time.entries()]
    .map(([part, t]) => ({ part, share: busy > 0 ? t / busy : 0 }))
    .sort((a, b) => b.share - a.share);
}
