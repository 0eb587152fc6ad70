/**
 * Context propagation (ebpf.context_propagation: headers): the object
 * sonde-inject.bpf.o (bpf/inject.bpf.c), loaded only when enabled, next to
 * the capture object whose ring buffer, process filter and counters it
 * shares by fd, so its records reach userspace in order with the data
 * records. Its sock_ops program goes on the root of the cgroup v2 hierarchy (a link: it
 * comes off when Sonde exits, however it exits); its sk_msg program on
 * its sockhash (taken down with the map when Sonde's fds close).
 */
import { closeSync, constants, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeConfig, type CaptureSettings } from './abi.js';
import { BpfObject, type ProgramFailure } from './BpfObject.js';
import { BPF_SK_MSG_VERDICT } from './libbpf.js';

export const INJECT_OBJECT = 'sonde-inject.bpf.o';

/**
 * Where the cgroup v2 hierarchy is mounted (its root): /sys/fs/cgroup on
 * unified hosts, /sys/fs/cgroup/unified on hybrid ones (systemd's v1 + v2).
 * The first cgroup2 mount of /proc/self/mounts; null when there is none.
 */
export function cgroup2Root(mounts = readMounts()): string | null {
  for (const line of mounts.split('\n')) {
    const [, dir, type] = line.split(' ');
    if (type === 'cgroup2' && dir) return dir.replace(/\\040/g, ' ');
  }
  return null;
}

function readMounts(): string {
  try {
    return readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return '';
  }
}

export interface InjectorOptions {
  readonly bpfDir: string;
  readonly settings: CaptureSettings;
  /** The capture object's maps, by name (KernelCapture.sharedMaps). */
  readonly shared: ReadonlyMap<string, number>;
}

export class Injector {
  private constructor(private readonly obj: BpfObject) {}

  /** The cgroup v2 the sock_ops program went on, once attached. */
  cgroup: string | null = null;

  /** Open, share the capture object's maps, load. */
  static load(opts: InjectorOptions): Injector | ProgramFailure {
    const obj = BpfObject.open(join(opts.bpfDir, INJECT_OBJECT));
    if (obj instanceof Error) return { program: '(object)', error: obj };
    for (const name of ['events', 'proc_verdict', 'counters']) {
      if (!opts.shared.has(name)) {
        obj.close();
        return { program: '(object)', error: new Error(`the capture object has no map ${name} to share`) };
      }
    }
    const prepared = obj.setRodata(0, encodeConfig(opts.settings)) ?? obj.reuseMaps(opts.shared);
    if (prepared) {
      obj.close();
      return { program: '(object)', error: prepared };
    }
    const failure = obj.load();
    if (failure) {
      obj.close();
      return failure;
    }
    return new Injector(obj);
  }

  /** sk_msg on the sockhash first, then sock_ops on the cgroup that fills it. */
  attach(cgroup = cgroup2Root()): ProgramFailure | null {
    if (cgroup === null) return { program: 'sonde_inject_sockops', error: new Error('no cgroup v2 hierarchy is mounted (sock_ops attaches to one)') };
    const msg = this.obj.attachToMap('sonde_inject_msg', 'inject_socks', BPF_SK_MSG_VERDICT);
    if (msg) return { program: 'sonde_inject_msg', error: msg };
    let fd: number;
    try {
      fd = openSync(cgroup, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (e) {
      return { program: 'sonde_inject_sockops', error: new Error(`open cgroup ${cgroup}: ${(e as Error).message}`) };
    }
    try {
      const err = this.obj.attachCgroup('sonde_inject_sockops', fd);
      if (err) return { program: 'sonde_inject_sockops', error: err };
      this.cgroup = cgroup;
      return null;
    } finally {
      closeSync(fd); // the link holds the cgroup
    }
  }

  async detach(): Promise<void> {
    await this.obj.detach();
  }

  close(): void {
    this.obj.close();
  }
}
