/**
 * What /proc says about a process: executable, command line, the
 * OpenTelemetry variables it was started with, and its TCP ports.
 * Every read may race with the process exiting: failures are values.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { containerFromCgroup, type ContainerFacts } from './container.js';
import { envValue, otelEnv } from './environ.js';

export interface ProcessFacts {
  readonly pid: number;
  /** Resolved executable path ('' when unreadable: kernel thread or gone). */
  readonly exePath: string;
  readonly exeName: string;
  readonly commandLine: string;
  /** OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the process's environment. */
  readonly otelServiceName: string | undefined;
  readonly otelResourceAttributes: string | undefined;
  /** The container it runs in; null on the host; absent when not known (facts from an exec record, a recording). */
  readonly container?: ContainerFacts | null;
}

/** Sonde's own pid namespace: a process in another one is in a container. */
let ownPidNs: string | undefined;

function tryRead(path: string): string | null {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return null;
  }
}

function tryReadlink(path: string): string | null {
  try {
    return readlinkSync(path);
  } catch {
    return null;
  }
}

export function readProcess(pid: number): ProcessFacts | null {
  const cmdline = tryRead(`/proc/${pid}/cmdline`);
  if (cmdline === null) return null;
  const exePath = (tryReadlink(`/proc/${pid}/exe`) ?? '').replace(/ \(deleted\)$/, '');
  const comm = (tryRead(`/proc/${pid}/comm`) ?? '').trim();
  const environ = tryRead(`/proc/${pid}/environ`) ?? '';
  return {
    pid,
    exePath,
    exeName: exePath ? basename(exePath) : comm,
    commandLine: cmdline.split('\0').filter((a) => a.length > 0).join(' '),
    ...otelEnv(environ),
    container: containerOf(pid, environ),
  };
}

/** The container of a process, from its cgroup and pid namespace; its name from the cgroup, else its HOSTNAME. */
function containerOf(pid: number, environ: string): ContainerFacts | null {
  ownPidNs ??= tryReadlink('/proc/self/ns/pid') ?? '';
  const fromCgroup = containerFromCgroup(tryRead(`/proc/${pid}/cgroup`) ?? '');
  const pidNs = tryReadlink(`/proc/${pid}/ns/pid`);
  if (!fromCgroup && (pidNs === null || pidNs === ownPidNs)) return null;
  const hostname = envValue(environ, 'HOSTNAME');
  return { ...fromCgroup, ...(fromCgroup?.name === undefined && hostname ? { name: hostname } : {}) };
}

export function listPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/** Socket inode -> local port, for TCP sockets of PID's network namespace on selected ports. */
export function socketInodesOnPorts(pid: number, selected: (port: number) => boolean): Map<number, number> {
  const inodes = new Map<number, number>();
  for (const file of ['tcp', 'tcp6']) {
    const text = tryRead(`/proc/${pid}/net/${file}`);
    if (text === null) continue;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const port = parseInt(f[1]!.slice(f[1]!.indexOf(':') + 1), 16);
      const inode = Number(f[9]);
      if (inode !== 0 && selected(port)) inodes.set(inode, port);
    }
  }
  return inodes;
}

/** Socket inodes a process holds open. */
export function socketInodesOf(pid: number): number[] {
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const fd of fds) {
    const target = tryReadlink(`/proc/${pid}/fd/${fd}`);
    if (target?.startsWith('socket:[')) out.push(Number(target.slice(8, -1)));
  }
  return out;
}

/** Network namespace identity of a process ('' when unreadable). */
export function netnsOf(pid: number): string {
  return tryReadlink(`/proc/${pid}/ns/net`) ?? '';
}

/** Clock ticks per second of /proc/PID/stat's start time (USER_HZ: 100 on every Linux architecture Sonde runs on). */
const USER_HZ = 100;

/** How long ago a process started (ms), or null when it is gone. */
export function processAgeMs(pid: number): number | null {
  const stat = tryRead(`/proc/${pid}/stat`);
  const uptime = tryRead('/proc/uptime');
  if (stat === null || uptime === null) return null;
  // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime field 22.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const startTicks = Number(fields[22 - 3]);
  const upSeconds = Number(uptime.split(' ')[0]);
  if (!Number.isFinite(startTicks) || !Number.isFinite(upSeconds)) return null;
  return Math.max(0, upSeconds * 1000 - (startTicks * 1000) / USER_HZ);
}
