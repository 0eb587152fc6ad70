/**
 * Which files mapped into a process may hold a TLS library, from the text
 * of /proc/PID/maps. A file is known by its device and inode, so one
 * library shared by many processes (or seen under other paths, through
 * /proc/PID/root) is probed once.
 */

export type TlsLibraryKind = 'openssl' | 'gnutls' | 'ldso' | 'executable';

export interface MappedLibrary {
  readonly kind: TlsLibraryKind;
  /** Path inside the process's mount namespace. */
  readonly path: string;
  /** "dev:inode": the file's identity. */
  readonly key: string;
}

const OPENSSL = /^libssl\.so(\.\d+)*$/;
const GNUTLS = /^libgnutls\.so(\.\d+)*$/;
/** glibc's dynamic linker (ld-linux-x86-64.so.2, ld-linux-aarch64.so.1, ld-2.31.so) and musl's. */
const LDSO = /^(ld-linux[-\w.]*\.so(\.\d+)*|ld-\d[\d.]*\.so|ld-musl-[\w]+\.so\.1)$/;

function kindOf(path: string, exePath: string | undefined): TlsLibraryKind | null {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (OPENSSL.test(base)) return 'openssl';
  if (GNUTLS.test(base)) return 'gnutls';
  if (LDSO.test(base)) return 'ldso';
  // An executable may carry OpenSSL inside (node does, and exports it).
  if (path === exePath) return 'executable';
  return null;
}

/**
 * The candidate files of one process. `exePath` is /proc/PID/exe's target,
 * so the executable itself is looked at for a built-in OpenSSL.
 */
export function mappedLibraries(maps: string, exePath?: string): MappedLibrary[] {
  const out = new Map<string, MappedLibrary>();
  for (const line of maps.split('\n')) {
    // address perms offset dev inode path
    const m = /^\S+\s+\S+\s+\S+\s+([0-9a-f]+:[0-9a-f]+)\s+(\d+)\s+(\/.*)$/.exec(line);
    if (!m || m[2] === '0') continue;
    const path = m[3]!;
    if (path.endsWith(' (deleted)')) continue; // replaced on disk: the path names another file now
    const kind = kindOf(path, exePath);
    if (!kind) continue;
    const key = `${m[1]}:${m[2]}`;
    if (!out.has(key)) out.set(key, { kind, path, key });
  }
  return [...out.values()];
}
