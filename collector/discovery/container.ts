/**
 * Is a process in a container, and which: read from its cgroup path, as
 * container runtimes name their cgroups (Docker, containerd and CRI-O
 * under Kubernetes, Podman: a 64-hex container id; LXC and systemd-nspawn:
 * the container's name), and from its pid namespace (a process in a pid
 * namespace other than the host's is containerised whatever its cgroup).
 */

export interface ContainerFacts {
  /** The runtime's container id (64 hex digits), when the cgroup path names one. */
  readonly id?: string;
  /** The container's name, when the cgroup path says it (LXC, nspawn) or the process's HOSTNAME does. */
  readonly name?: string;
}

const ID = /(?:^|[/-])([0-9a-f]{64})(?:\.scope)?(?:\/|$)/;
const LXC = /^\/lxc(?:\.payload)?[./]([^/]+)/;
const NSPAWN = /\/machine-([^/]+)\.scope/;

/** The container a /proc/PID/cgroup text names, or null for a host process. */
export function containerFromCgroup(text: string): ContainerFacts | null {
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    if (!path || path === '/') continue;
    const id = ID.exec(path);
    if (id) return { id: id[1]! };
    const lxc = LXC.exec(path);
    if (lxc) return { name: lxc[1]! };
    const nspawn = NSPAWN.exec(path);
    if (nspawn) return { name: nspawn[1]!.replace(/\\x2d/g, '-') };
  }
  return null;
}
