/**
 * One BPF object file: open, adjust (autoload, map sizes, .rodata), load,
 * attach every program, look up maps, close. Errors come back as values
 * carrying the verifier log of the program that failed.
 */
import { errnoError, lastErrno, libbpf, linkDestroyAsync, type Ptr, UPROBE_OPTS_SIZE, view } from './libbpf.js';

/** A program attached to a map (sk_msg on a sockhash): detached with bpf_prog_detach2. */
interface MapAttachment {
  readonly progFd: number;
  readonly mapFd: number;
  readonly type: number;
}

export interface ProgramFailure {
  readonly program: string;
  readonly error: Error;
  /** The verifier's log, when the kernel refused the program. */
  readonly verifierLog?: string;
}

export interface AttachResult {
  readonly attached: string[];
  readonly failed: ProgramFailure[];
}

const LOG_SIZE = 1 << 20;

export class BpfObject {
  private readonly programsByName = new Map<string, Ptr>();
  private readonly logs = new Map<string, Buffer>();
  private links: Ptr[] = [];
  private mapAttachments: MapAttachment[] = [];
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly obj: Ptr,
  ) {
    for (let p = libbpf.objectNextProgram(obj, null); p !== null; p = libbpf.objectNextProgram(obj, p)) {
      this.programsByName.set(libbpf.programName(p), p);
    }
  }

  static open(path: string): BpfObject | Error {
    const obj = libbpf.objectOpenFile(path, null);
    if (obj === null) return errnoError(`open ${path}`, lastErrno());
    return new BpfObject(path, obj);
  }

  get programNames(): string[] {
    return [...this.programsByName.keys()];
  }

  /** Names of the programs that will be (or were) loaded. */
  get loadedProgramNames(): string[] {
    return [...this.programsByName].filter(([, p]) => libbpf.programAutoload(p)).map(([n]) => n);
  }

  sectionOf(program: string): string | undefined {
    const p = this.programsByName.get(program);
    return p === undefined ? undefined : libbpf.programSectionName(p);
  }

  setAutoload(program: string, on: boolean): void {
    const p = this.programsByName.get(program);
    if (p !== undefined) libbpf.programSetAutoload(p, on);
  }

  setMaxEntries(map: string, entries: number): Error | null {
    const m = libbpf.objectFindMap(this.obj, map);
    if (m === null) return new Error(`no map ${map} in ${this.path}`);
    const rc = libbpf.mapSetMaxEntries(m, entries);
    return rc < 0 ? errnoError(`resize map ${map}`, rc) : null;
  }

  /** Write `bytes` at `offset` of the object's .rodata before load. */
  setRodata(offset: number, bytes: Uint8Array): Error | null {
    for (let m = libbpf.objectNextMap(this.obj, null); m !== null; m = libbpf.objectNextMap(this.obj, m)) {
      if (!libbpf.mapName(m).endsWith('.rodata')) continue;
      const size = new BigUint64Array(1);
      const ptr = libbpf.mapInitialValue(m, size);
      if (ptr === null) return new Error(`.rodata of ${this.path} has no initial value`);
      if (offset + bytes.length > Number(size[0])) {
        return new Error(`.rodata of ${this.path} is ${size[0]} bytes, cannot write ${bytes.length} at ${offset}`);
      }
      new Uint8Array(view(ptr, Number(size[0]))).set(bytes, offset);
      return null;
    }
    return new Error(`no .rodata in ${this.path}`);
  }

  load(): ProgramFailure | null {
    for (const name of this.loadedProgramNames) {
      const buf = Buffer.alloc(LOG_SIZE);
      this.logs.set(name, buf);
      libbpf.programSetLogBuf(this.programsByName.get(name)!, buf, buf.length);
    }
    const rc = libbpf.objectLoad(this.obj);
    if (rc === 0) {
      this.logs.clear();
      return null;
    }
    const error = errnoError(`load ${this.path}`, rc);
    for (const [program, buf] of this.logs) {
      const end = buf.indexOf(0);
      const log = buf.toString('utf8', 0, end < 0 ? buf.length : end).trim();
      if (log.length > 0) return { program, error, verifierLog: log };
    }
    return { program: '(object)', error };
  }

  /** Attach every loaded program by its section name; keep going past failures.
   * Uprobes name no file: they are attached one library at a time (attachUprobe). */
  attachAll(): AttachResult {
    const attached: string[] = [];
    const failed: ProgramFailure[] = [];
    for (const name of this.loadedProgramNames) {
      if (/^u(ret)?probe$/.test(this.sectionOf(name) ?? '')) continue;
      const link = libbpf.programAttach(this.programsByName.get(name)!);
      if (link === null) {
        failed.push({ program: name, error: errnoError(`attach ${name} (${this.sectionOf(name)})`, lastErrno()) });
      } else {
        this.links.push(link);
        attached.push(name);
      }
    }
    return { attached, failed };
  }

  /**
   * Attach a uprobe program to function `func` of the ELF file at `path`,
   * in every process that maps it, or in process `pid` only. detach() and
   * close() take it down with the rest; destroyLink() earlier.
   */
  attachUprobe(program: string, path: string, func: string, retprobe: boolean, pid = -1): Ptr | Error {
    const p = this.programsByName.get(program);
    if (p === undefined) return new Error(`no program ${program} in ${this.path}`);
    const opts = { sz: UPROBE_OPTS_SIZE, ref_ctr_offset: 0, bpf_cookie: 0, retprobe, func_name: func };
    const link = libbpf.programAttachUprobe(p, pid, path, 0, opts);
    if (link === null) return errnoError(`attach ${program} to ${func} in ${path}`, lastErrno());
    this.links.push(link);
    return link;
  }

  /** Take one link down (off the event loop: detaching waits for the kernel). */
  async destroyLink(link: Ptr): Promise<void> {
    const i = this.links.indexOf(link);
    if (i < 0) return;
    this.links.splice(i, 1);
    await linkDestroyAsync(link);
  }

  mapFd(map: string): number | Error {
    const m = libbpf.objectFindMap(this.obj, map);
    if (m === null) return new Error(`no map ${map} in ${this.path}`);
    const fd = libbpf.mapFd(m);
    return fd < 0 ? errnoError(`fd of map ${map}`, fd) : fd;
  }

  /** Maps by name (not .rodata/.bss/.data), with their fds: what another object may share. */
  mapFds(): Map<string, number> {
    const out = new Map<string, number>();
    for (let m = libbpf.objectNextMap(this.obj, null); m !== null; m = libbpf.objectNextMap(this.obj, m)) {
      const name = libbpf.mapName(m);
      if (name.includes('.')) continue;
      const fd = libbpf.mapFd(m);
      if (fd >= 0) out.set(name, fd);
    }
    return out;
  }

  /**
   * Before load: use these maps (another object's, by name) instead of
   * creating this object's own. Names this object lacks are left out.
   */
  reuseMaps(fds: ReadonlyMap<string, number>): Error | null {
    for (let m = libbpf.objectNextMap(this.obj, null); m !== null; m = libbpf.objectNextMap(this.obj, m)) {
      const fd = fds.get(libbpf.mapName(m));
      if (fd === undefined) continue;
      const rc = libbpf.mapReuseFd(m, fd);
      if (rc < 0) return errnoError(`reuse map ${libbpf.mapName(m)}`, rc);
    }
    return null;
  }

  /** Attach a cgroup program (sock_ops, ...) to the cgroup open at `cgroupFd`, as a link. */
  attachCgroup(program: string, cgroupFd: number): Error | null {
    const p = this.programsByName.get(program);
    if (p === undefined) return new Error(`no program ${program} in ${this.path}`);
    const link = libbpf.programAttachCgroup(p, cgroupFd);
    if (link === null) return errnoError(`attach ${program} to the cgroup`, lastErrno());
    this.links.push(link);
    return null;
  }

  /** Attach a program to one of this object's maps (sk_msg on a sockhash: BPF_SK_MSG_VERDICT). */
  attachToMap(program: string, map: string, type: number): Error | null {
    const p = this.programsByName.get(program);
    if (p === undefined) return new Error(`no program ${program} in ${this.path}`);
    const mapFd = this.mapFd(map);
    if (mapFd instanceof Error) return mapFd;
    const progFd = libbpf.programFd(p);
    if (progFd < 0) return errnoError(`fd of ${program}`, progFd);
    const rc = libbpf.progAttach(progFd, mapFd, type, 0);
    if (rc < 0) return errnoError(`attach ${program} to map ${map}`, rc);
    this.mapAttachments.push({ progFd, mapFd, type });
    return null;
  }

  /** Detach every probe, in parallel. The object (and its maps) stay until close(). */
  async detach(): Promise<void> {
    const links = this.links;
    this.links = [];
    this.detachFromMaps();
    await Promise.all(links.map(linkDestroyAsync));
  }

  private detachFromMaps(): void {
    for (const a of this.mapAttachments) libbpf.progDetach2(a.progFd, a.mapFd, a.type);
    this.mapAttachments = [];
  }

  /** Detach (synchronously, if still attached) and free the object. */
  close(): void {
    if (this.closed) return;
    this.detachFromMaps();
    for (const link of this.links) libbpf.linkDestroy(link);
    this.links = [];
    libbpf.objectClose(this.obj);
    this.closed = true;
  }
}
