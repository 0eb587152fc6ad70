/**
 * Child processes that die with the test worker. An 'exit' hook does not
 * run when vitest ends a worker with a signal, so servers, Sonde and Jaeger
 * are started under setpriv (util-linux, essential on Debian) with a
 * parent-death signal: the kernel signals them when the worker goes,
 * however it goes. setpriv execs the command, so the pid is the command's.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';

const SETPRIV = '/usr/bin/setpriv';

export function tiedCommand(cmd: string, args: readonly string[], signal: NodeJS.Signals = 'SIGKILL'): [string, string[]] {
  return existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', signal, '--', cmd, ...args]] : [cmd, [...args]];
}

export function spawnTied(cmd: string, args: readonly string[], opts: SpawnOptions, signal: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  const [c, a] = tiedCommand(cmd, args, signal);
  return spawn(c, a, opts);
}
