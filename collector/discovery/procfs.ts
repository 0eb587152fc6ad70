/**
 * What /proc says about a process: executable, command line, the
 * OpenTelemetry variables it was started with, and its TCP ports.
 * Every read may race with the process exiting: failures are values.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { otelEnv } from './environ.js';

export interface ProcessFacts {
  readonly pid: number;
  /** Resolved executable path ('' when unreadable: kernel thread or gone). */
  readonly exePath: string;
  readonly exeName: string;
  readonly commandLine: string;
  /** OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES from the process's environment. */
  readonly otelServiceName: string | undefined;
  readonly otelResourceAttributes: string | undefined;
}

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
  const env = otelEnv(tryRead(`/proc/${pid}/environ`) ?? '');
  return {
    pid,
    exePath,
    exeName: exePath ? basename(exePath) : comm,
    commandLine: cmdline.split('\0').filter((a) => a.length > 0).join(' '),
    ...env,
  };
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
