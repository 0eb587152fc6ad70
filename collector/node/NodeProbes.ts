/**
 * Uprobes on the async machinery of Node.js (bpf/node.bpf.c), attached to
 * each traced Node.js process alone, so the calls it makes can be tied to
 * the requests it serves (collector/conn/AsyncTies.ts). Other processes
 * running the same node executable are not probed and pay nothing.
 *
 * A process is taken for Node.js when its executable is named like node
 * and has the functions by name (node exports its C++ symbols); one whose
 * executable lacks them is not looked at again.
 */
import { readlinkSync } from 'node:fs';
import type { Ptr } from '../ebpf/libbpf.js';
import type { Logger } from '../log.js';
import type { UprobeHost } from '../tls/TlsProbes.js';

interface Probe {
  readonly func: string;
  readonly program: string;
  readonly ret: boolean;
}

const RESET = '_ZN4node9AsyncWrap10AsyncResetEN2v85LocalINS1_6ObjectEEEdb';

/** Itanium names: node::InternalCallbackScope's two constructors, node::AsyncWrap::AsyncReset(Local<Object>, double, bool). */
const PROBES: readonly Probe[] = [
  { func: '_ZN4node21InternalCallbackScopeC1EPNS_11EnvironmentEN2v85LocalINS3_6ObjectEEERKNS_13async_contextEi', program: 'sonde_node_scope', ret: false },
  { func: '_ZN4node21InternalCallbackScopeC1EPNS_9AsyncWrapEi', program: 'sonde_node_scope_wrap', ret: false },
  { func: RESET, program: 'sonde_node_reset', ret: false },
  { func: RESET, program: 'sonde_node_reset_ret', ret: true },
];

/** node, nodejs, node20, node-v20.11.1: what Node.js executables are called. */
const NODE_EXE = /^node(js)?([-.]?v?\d[\w.]*)?$/;

export interface NodeProbeStats {
  /** Node.js processes probed now. */
  processes: number;
  /** Uprobes attached now. */
  probes: number;
  /** Processes named like node whose executable could not be probed. */
  failures: number;
}

export class NodeProbes {
  private readonly links = new Map<number, Ptr[]>();
  /** Executables (by path) found without the functions: not tried again. */
  private readonly notNode = new Set<string>();
  readonly stats: NodeProbeStats = { processes: 0, probes: 0, failures: 0 };

  constructor(
    private readonly host: UprobeHost,
    private readonly log: Logger,
  ) {}

  /** `pid` is traced: probe it if it runs Node.js and is not probed yet. */
  attach(pid: number): void {
    if (this.links.has(pid)) return;
    let exe: string;
    try {
      exe = readlinkSync(`/proc/${pid}/exe`);
    } catch {
      return; // gone, or a kernel thread
    }
    const base = exe.slice(exe.lastIndexOf('/') + 1);
    if (!NODE_EXE.test(base) || this.notNode.has(exe)) return;
    // Through the process's root, so an executable inside a container is found.
    const path = `/proc/${pid}/root${exe}`;
    const links: Ptr[] = [];
    for (const p of PROBES) {
      const link = this.host.attachUprobe(p.program, path, p.func, p.ret, pid);
      if (link instanceof Error) {
        for (const l of links) void this.host.destroyLink(l);
        this.notNode.add(exe);
        this.stats.failures++;
        this.log.warn({ pid, exe, func: p.func, err: link.message }, 'cannot probe Node.js async context; calls this process makes stay roots unless tied otherwise');
        return;
      }
      links.push(link);
    }
    this.links.set(pid, links);
    this.stats.processes++;
    this.stats.probes += links.length;
    this.log.info({ pid, exe, probes: links.length }, 'Node.js async context probed');
  }

  /** `pid` is gone or no longer traced: its probes go. */
  forget(pid: number): void {
    const links = this.links.get(pid);
    if (!links) return;
    this.links.delete(pid);
    this.stats.processes--;
    this.stats.probes -= links.length;
    for (const l of links) void this.host.destroyLink(l);
  }
}
