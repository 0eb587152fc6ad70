/**
 * A real cgroup named as Docker names a container's ("docker-<64 hex>.scope"),
 * to put a test server in: /proc/PID/cgroup then says what it says of a
 * containerised process. cgroup v2 when it is the unified hierarchy at
 * /sys/fs/cgroup, else the v1 pids hierarchy.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerCgroup {
  readonly id: string;
  add(pid: number): void;
  /** Move its processes back to the root cgroup and remove it. */
  remove(): void;
}

export function containerCgroup(): ContainerCgroup {
  const root = existsSync('/sys/fs/cgroup/cgroup.procs') ? '/sys/fs/cgroup' : '/sys/fs/cgroup/pids';
  const id = randomBytes(32).toString('hex');
  const dir = join(root, `docker-${id}.scope`);
  mkdirSync(dir);
  return {
    id,
    add: (pid) => writeFileSync(join(dir, 'cgroup.procs'), `${pid}\n`),
    remove: () => {
      for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
        try {
          writeFileSync(join(root, 'cgroup.procs'), `${pid}\n`);
        } catch {
          // gone meanwhile
        }
      }
      rmdirSync(dir);
    },
  };
}
