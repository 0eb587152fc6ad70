/**
 * Uprobes on the TLS libraries of traced processes (bpf/tls.bpf.c), attached
 * once per library file, whichever process maps it and however many do, and
 * taken down when the last traced process using it is gone.
 *
 * A library is found in /proc/PID/maps when a process is selected, and
 * again whenever the dynamic linker reports a change (a uprobe on ld.so's
 * _dl_debug_state): Python maps libssl only on `import ssl`.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Ptr } from '../ebpf/libbpf.js';
import type { Logger } from '../log.js';
import { mappedLibraries, type MappedLibrary, type TlsLibraryKind } from './libraries.js';

/** What this needs of the loaded object (BpfObject). */
export interface UprobeHost {
  attachUprobe(program: string, path: string, func: string, retprobe: boolean, pid?: number): Ptr | Error;
  destroyLink(link: Ptr): Promise<void>;
}

interface Probe {
  readonly func: string;
  readonly entry: string;
  /** The return program, if the call's result matters. */
  readonly ret?: string;
  /** Absent from some versions (SSL_*_ex before OpenSSL 1.1.1). */
  readonly optional?: boolean;
}

const OPENSSL_PROBES: readonly Probe[] = [
  { func: 'SSL_write', entry: 'sonde_tls_write', ret: 'sonde_tls_ret_int' },
  { func: 'SSL_read', entry: 'sonde_tls_read', ret: 'sonde_tls_ret_int' },
  { func: 'SSL_write_ex', entry: 'sonde_tls_write_ex', ret: 'sonde_tls_ret_ex', optional: true },
  { func: 'SSL_read_ex', entry: 'sonde_tls_read_ex', ret: 'sonde_tls_ret_ex', optional: true },
  { func: 'SSL_free', entry: 'sonde_tls_free' },
];

const PROBES: Record<TlsLibraryKind, readonly Probe[]> = {
  openssl: OPENSSL_PROBES,
  executable: OPENSSL_PROBES,
  gnutls: [
    { func: 'gnutls_record_send', entry: 'sonde_tls_write', ret: 'sonde_tls_ret_long' },
    { func: 'gnutls_record_recv', entry: 'sonde_tls_read', ret: 'sonde_tls_ret_long' },
    { func: 'gnutls_deinit', entry: 'sonde_tls_free' },
  ],
  ldso: [{ func: '_dl_debug_state', entry: 'sonde_dl_debug_state' }],
};

interface ProbedFile {
  readonly lib: MappedLibrary;
  readonly links: Ptr[];
  readonly users: Set<number>;
  /** When the last traced user left (ms since epoch), 0 while in use. */
  idleSince: number;
}

/**
 * Probes stay this long after the last traced process using a library is
 * gone: short-lived clients (curl) come back, and attaching again would
 * race their first request.
 */
const LINGER_MS = 60_000;

/** The users entry for Sonde's own dynamic linker: never released. */
const SELF = 0;

export interface TlsProbeStats {
  /** Library files with probes attached now. */
  files: number;
  /** Uprobes attached now. */
  probes: number;
  /** Attach attempts that failed (a required symbol missing, a file gone). */
  failures: number;
}

export class TlsProbes {
  private readonly files = new Map<string, ProbedFile>();
  /** Files looked at and found without TLS (most executables), or that failed. */
  private readonly skipped = new Set<string>();
  private readonly filesOf = new Map<number, Set<string>>();
  readonly stats: TlsProbeStats = { files: 0, probes: 0, failures: 0 };

  constructor(
    private readonly host: UprobeHost,
    private readonly log: Logger,
  ) {}

  /**
   * Probe the dynamic linker Sonde itself runs with, before any process is
   * traced: processes started later (most of them use the same ld.so) then
   * report the libraries they load from their first instant.
   */
  watchLinker(): void {
    const maps = readMaps('self');
    if (maps === null) return;
    for (const lib of mappedLibraries(maps.maps)) {
      if (lib.kind !== 'ldso' || this.files.has(lib.key)) continue;
      const file = this.attach(process.pid, lib);
      file?.users.add(SELF);
    }
  }

  /**
   * Probe the system's own TLS libraries (libssl, libgnutls in the linker's
   * directories) at start, so a short-lived client (curl) is covered from
   * its first request instead of racing the attach. Processes that are not
   * traced pay the uprobe's trap on each call, and their programs stop at
   * the process filter.
   */
  watchSystemLibraries(dirs: readonly string[] = SYSTEM_LIBRARY_DIRS): void {
    for (const dir of dirs) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      for (const name of names) {
        const path = join(dir, name);
        const lib = systemLibrary(path);
        if (!lib || this.files.has(lib.key) || this.skipped.has(lib.key)) continue;
        const file = this.attachAt(path, lib);
        file?.users.add(SELF);
      }
    }
  }

  /** Look at what `pid` maps now; probe the TLS libraries not probed yet. */
  scan(pid: number): void {
    const found = readMaps(String(pid));
    if (found === null) return; // gone, or a kernel thread
    const { maps, exe } = found;
    let mine = this.filesOf.get(pid);
    if (!mine) this.filesOf.set(pid, (mine = new Set()));
    for (const lib of mappedLibraries(maps, exe)) {
      if (this.skipped.has(lib.key)) continue;
      let file = this.files.get(lib.key);
      if (!file) {
        const attached = this.attach(pid, lib);
        if (!attached) continue;
        file = attached;
      }
      file.users.add(pid);
      file.idleSince = 0;
      mine.add(lib.key);
    }
  }

  /** `pid` is gone (or no longer traced): it no longer holds its files' probes. */
  forget(pid: number, now = Date.now()): void {
    const mine = this.filesOf.get(pid);
    if (!mine) return;
    this.filesOf.delete(pid);
    for (const key of mine) {
      const file = this.files.get(key);
      if (!file) continue;
      file.users.delete(pid);
      if (file.users.size === 0) file.idleSince = now;
    }
  }

  /** Detach the probes of files no traced process has used for a while. */
  sweep(now = Date.now()): void {
    for (const [key, file] of this.files) {
      if (file.users.size > 0 || now - file.idleSince < LINGER_MS) continue;
      this.files.delete(key);
      this.stats.files--;
      this.stats.probes -= file.links.length;
      for (const link of file.links) void this.host.destroyLink(link);
      this.log.debug({ path: file.lib.path }, 'TLS probes detached: no traced process maps the library');
    }
  }

  /** Processes using each probed file, by path: for tests and `sonde doctor`. */
  attachedFiles(): Array<{ path: string; kind: TlsLibraryKind; users: number[] }> {
    return [...this.files.values()].map((f) => ({ path: f.lib.path, kind: f.lib.kind, users: [...f.users] }));
  }

  private attach(pid: number, lib: MappedLibrary): ProbedFile | null {
    // Through the process's root, so a library inside a container is found.
    return this.attachAt(`/proc/${pid}/root${lib.path}`, lib, pid);
  }

  private attachAt(path: string, lib: MappedLibrary, pid?: number): ProbedFile | null {
    const links: Ptr[] = [];
    const fail = (func: string, err: Error, quiet: boolean): null => {
      for (const l of links) void this.host.destroyLink(l);
      // The process left before we got to it: nothing is known of the file.
      if (!existsSync(path)) return null;
      if (!quiet) {
        this.stats.failures++;
        this.log.warn({ path: lib.path, func, err: err.message }, 'cannot probe TLS library; its traffic is not captured');
      }
      this.skipped.add(lib.key);
      return null;
    };
    for (const [i, p] of PROBES[lib.kind].entries()) {
      const entry = this.host.attachUprobe(p.entry, path, p.func, false);
      if (entry instanceof Error) {
        if (p.optional && existsSync(path)) continue;
        // An executable without OpenSSL inside: the common case, not a failure.
        return fail(p.func, entry, lib.kind === 'executable' && i === 0);
      }
      links.push(entry);
      if (!p.ret) continue;
      const ret = this.host.attachUprobe(p.ret, path, p.func, true);
      if (ret instanceof Error) return fail(p.func, ret, false);
      links.push(ret);
    }
    const file: ProbedFile = { lib, links, users: new Set(), idleSince: 0 };
    this.files.set(lib.key, file);
    this.stats.files++;
    this.stats.probes += links.length;
    if (lib.kind !== 'ldso') this.log.info({ path: lib.path, kind: lib.kind, probes: links.length, pid }, 'TLS library probed');
    return file;
  }
}

/** Where Debian, Fedora and Alpine keep shared libraries. */
const SYSTEM_LIBRARY_DIRS = ['/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu', '/lib/aarch64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib'];

function systemLibrary(path: string): MappedLibrary | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  const kind = /^libssl\.so\.\d/.test(base) ? 'openssl' : /^libgnutls\.so\.\d/.test(base) ? 'gnutls' : null;
  if (!kind) return null;
  try {
    const st = statSync(path); // follows links: the file itself
    return { kind, path, key: `${devKey(st.dev)}:${st.ino}` };
  } catch {
    return null;
  }
}

/** st_dev as /proc/PID/maps prints it: "major:minor" in hex (new-style dev_t encoding). */
function devKey(dev: number): string {
  const major = ((dev >>> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) & ~0xfff);
  const minor = (dev & 0xff) | ((dev >>> 12) & 0xfff00);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

function readMaps(pid: string): { maps: string; exe: string } | null {
  try {
    return { maps: readFileSync(`/proc/${pid}/maps`, 'latin1'), exe: readlinkSync(`/proc/${pid}/exe`) };
  } catch {
    return null;
  }
}
