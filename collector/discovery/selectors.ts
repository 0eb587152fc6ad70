/**
 * Which processes to trace: port sets, executable globs, pid lists, as
 * users of the OpenTelemetry eBPF Instrumentation write them. Within one
 * selector every given criterion must match; selectors are alternatives.
 */

/** Ports and ranges: "80,443,8000-8999". */
export type PortSet = ReadonlyArray<readonly [from: number, to: number]>;

export function parsePortSet(text: string): PortSet | Error {
  const out: Array<[number, number]> = [];
  for (const part of text.split(',').map((p) => p.trim()).filter((p) => p.length > 0)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return new Error(`"${part}" is not a port or a range like 8000-8999`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 65535 || from > to) return new Error(`"${part}" is not within 1-65535, low to high`);
    out.push([from, to]);
  }
  if (out.length === 0) return new Error('no ports given');
  return out;
}

export function portInSet(set: PortSet, port: number): boolean {
  return set.some(([from, to]) => port >= from && port <= to);
}

export function* portsOf(set: PortSet): Generator<number> {
  for (const [from, to] of set) for (let p = from; p <= to; p++) yield p;
}

/**
 * A glob on the whole executable path: `*` matches any run of characters,
 * slashes included (so "*nginx" matches "/usr/sbin/nginx"), `?` one
 * character, `[...]` a class. Path-aware glob libraries stop `*` at "/",
 * which is not what users of exe-path selectors expect.
 */
export function compileGlob(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = glob.slice(i + 1, end).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export interface Selector {
  readonly openPorts?: PortSet;
  readonly exePath?: RegExp;
  /** On the command line, arguments joined by spaces (the interpreter's script, a JVM's main class). */
  readonly cmdArgs?: RegExp;
  readonly pids?: ReadonlySet<number>;
  /** Only processes in a container (container.ts). */
  readonly containersOnly?: boolean;
}

export interface Candidate {
  readonly pid: number;
  readonly exePath: string;
  readonly commandLine?: string;
  readonly inContainer?: boolean;
  /** Local TCP ports the process listens or connects on, when known. */
  readonly ports?: ReadonlySet<number>;
}

export function selectorMatches(s: Selector, c: Candidate): boolean {
  if (s.pids && !s.pids.has(c.pid)) return false;
  if (s.exePath && !s.exePath.test(c.exePath)) return false;
  if (s.cmdArgs && !s.cmdArgs.test(c.commandLine ?? '')) return false;
  if (s.containersOnly && !c.inContainer) return false;
  if (s.openPorts) {
    if (!c.ports) return false;
    let any = false;
    for (const p of c.ports) if (portInSet(s.openPorts, p)) any = true;
    if (!any) return false;
  }
  return true;
}
