/**
 * The system libbpf (Debian `libbpf1`) and the few libc calls the ring
 * buffer reader needs, bound through koffi (ARCHITECTURE decision 3).
 * Typed wrappers only: no logic lives here.
 *
 * libbpf 1.x reports errors as NULL pointers with errno set, or as
 * negative error codes; callers turn both into values with `errnoError`.
 */
import koffi, { type LibraryHandle } from 'koffi';

/** An opaque native pointer (koffi 3 represents pointers as bigint). */
export type Ptr = bigint;

koffi.opaque('bpf_object');
koffi.opaque('bpf_program');
koffi.opaque('bpf_map');
koffi.opaque('bpf_link');
koffi.opaque('btf');
/** struct bpf_uprobe_opts of libbpf 1.1 (bpf/libbpf.h). */
const uprobeOpts = koffi.struct('bpf_uprobe_opts', {
  sz: 'size_t',
  ref_ctr_offset: 'size_t',
  bpf_cookie: 'uint64_t',
  retprobe: 'bool',
  func_name: 'const char *',
});
export interface UprobeOpts {
  sz: number;
  ref_ctr_offset: number;
  bpf_cookie: number;
  retprobe: boolean;
  func_name: string;
}
export const UPROBE_OPTS_SIZE = koffi.sizeof(uprobeOpts);
const printFn = koffi.proto('int libbpf_print_fn(int level, void *fmt, void *ap)');

const lib = koffi.load('libbpf.so.1');
const libc = koffi.load('libc.so.6');

type Fn<A extends unknown[], R> = (...args: A) => R;
function bind<A extends unknown[], R>(l: LibraryHandle, decl: string): Fn<A, R> {
  return l.func(decl) as Fn<A, R>;
}

export const libbpf = {
  objectOpenFile: bind<[string, null], Ptr | null>(lib, 'bpf_object *bpf_object__open_file(const char *path, const void *opts)'),
  objectLoad: bind<[Ptr], number>(lib, 'int bpf_object__load(bpf_object *obj)'),
  objectClose: bind<[Ptr], void>(lib, 'void bpf_object__close(bpf_object *obj)'),
  objectNextProgram: bind<[Ptr, Ptr | null], Ptr | null>(lib, 'bpf_program *bpf_object__next_program(bpf_object *obj, bpf_program *prog)'),
  objectNextMap: bind<[Ptr, Ptr | null], Ptr | null>(lib, 'bpf_map *bpf_object__next_map(bpf_object *obj, bpf_map *map)'),
  mapName: bind<[Ptr], string>(lib, 'const char *bpf_map__name(bpf_map *map)'),
  mapInitialValue: bind<[Ptr, BigUint64Array], Ptr | null>(lib, 'void *bpf_map__initial_value(bpf_map *map, _Out_ uint64_t *psize)'),
  objectFindMap: bind<[Ptr, string], Ptr | null>(lib, 'bpf_map *bpf_object__find_map_by_name(bpf_object *obj, const char *name)'),
  programName: bind<[Ptr], string>(lib, 'const char *bpf_program__name(bpf_program *prog)'),
  programSectionName: bind<[Ptr], string>(lib, 'const char *bpf_program__section_name(bpf_program *prog)'),
  programSetAutoload: bind<[Ptr, boolean], number>(lib, 'int bpf_program__set_autoload(bpf_program *prog, bool autoload)'),
  programAutoload: bind<[Ptr], boolean>(lib, 'bool bpf_program__autoload(bpf_program *prog)'),
  programSetLogBuf: bind<[Ptr, Buffer, number], number>(lib, 'int bpf_program__set_log_buf(bpf_program *prog, uint8_t *buf, size_t size)'),
  programAttach: bind<[Ptr], Ptr | null>(lib, 'bpf_link *bpf_program__attach(bpf_program *prog)'),
  programAttachUprobe: bind<[Ptr, number, string, number, UprobeOpts], Ptr | null>(
    lib,
    'bpf_link *bpf_program__attach_uprobe_opts(bpf_program *prog, int pid, const char *binary_path, size_t func_offset, const bpf_uprobe_opts *opts)',
  ),
  linkDestroy: bind<[Ptr], number>(lib, 'int bpf_link__destroy(bpf_link *link)'),
  mapFd: bind<[Ptr], number>(lib, 'int bpf_map__fd(bpf_map *map)'),
  mapReuseFd: bind<[Ptr, number], number>(lib, 'int bpf_map__reuse_fd(bpf_map *map, int fd)'),
  programFd: bind<[Ptr], number>(lib, 'int bpf_program__fd(bpf_program *prog)'),
  programAttachCgroup: bind<[Ptr, number], Ptr | null>(lib, 'bpf_link *bpf_program__attach_cgroup(bpf_program *prog, int cgroup_fd)'),
  progAttach: bind<[number, number, number, number], number>(lib, 'int bpf_prog_attach(int prog_fd, int attachable_fd, int type, unsigned int flags)'),
  progDetach2: bind<[number, number, number], number>(lib, 'int bpf_prog_detach2(int prog_fd, int attachable_fd, int type)'),
  mapSetMaxEntries: bind<[Ptr, number], number>(lib, 'int bpf_map__set_max_entries(bpf_map *map, uint32_t n)'),
  mapSetInitialValue: bind<[Ptr, Uint8Array, number], number>(lib, 'int bpf_map__set_initial_value(bpf_map *map, const uint8_t *data, size_t size)'),
  mapUpdateElem: bind<[number, Uint8Array, Uint8Array, number], number>(lib, 'int bpf_map_update_elem(int fd, const uint8_t *key, const uint8_t *value, uint64_t flags)'),
  mapLookupElem: bind<[number, Uint8Array, Uint8Array], number>(lib, 'int bpf_map_lookup_elem(int fd, const uint8_t *key, _Out_ uint8_t *value)'),
  mapDeleteElem: bind<[number, Uint8Array], number>(lib, 'int bpf_map_delete_elem(int fd, const uint8_t *key)'),
  numPossibleCpus: bind<[], number>(lib, 'int libbpf_num_possible_cpus(void)'),
  probeProgType: bind<[number, null], number>(lib, 'int libbpf_probe_bpf_prog_type(int type, const void *opts)'),
  probeMapType: bind<[number, null], number>(lib, 'int libbpf_probe_bpf_map_type(int type, const void *opts)'),
  probeHelper: bind<[number, number, null], number>(lib, 'int libbpf_probe_bpf_helper(int prog_type, int helper, const void *opts)'),
  loadVmlinuxBtf: bind<[], Ptr | null>(lib, 'btf *btf__load_vmlinux_btf(void)'),
  btfFindByNameKind: bind<[Ptr, string, number], number>(lib, 'int btf__find_by_name_kind(btf *btf, const char *name, uint32_t kind)'),
  btfFree: bind<[Ptr], void>(lib, 'void btf__free(btf *btf)'),
  setPrint: bind<[Ptr | null], Ptr | null>(lib, 'void *libbpf_set_print(libbpf_print_fn *fn)'),
};

const linkDestroyFn = lib.func('int bpf_link__destroy(bpf_link *link)') as { async(link: Ptr, cb: (err: unknown, rc: number) => void): void };

/**
 * Destroy a link on a worker thread. Detaching a syscall tracepoint waits
 * for an RCU grace period (tens of ms on recent kernels); done in
 * parallel, many detaches share the wait.
 */
export function linkDestroyAsync(link: Ptr): Promise<number> {
  return new Promise((resolve) => linkDestroyFn.async(link, (err, rc) => resolve(err ? -1 : rc)));
}

export const libcCalls = {
  mmap: bind<[null, number, number, number, number, number], Ptr>(libc, 'void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  munmap: bind<[Ptr, number], number>(libc, 'int munmap(void *addr, size_t len)'),
  vsnprintf: bind<[Buffer, number, Ptr, Ptr], number>(libc, 'int vsnprintf(_Out_ uint8_t *buf, size_t n, void *fmt, void *ap)'),
  strerror: bind<[number], string>(libc, 'const char *strerror(int errnum)'),
  clockGettime: bind<[number, BigInt64Array], number>(libc, 'int clock_gettime(int clk, _Out_ int64_t *ts)'),
  getpagesize: bind<[], number>(libc, 'int getpagesize(void)'),
};

export const MAP_FAILED = (1n << 64n) - 1n;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 1;

/** enum bpf_attach_type: an sk_msg program on a sockmap or sockhash. */
export const BPF_SK_MSG_VERDICT = 7;

/** BTF kinds used with btfFindByNameKind. */
export const BTF_KIND_FUNC = 12;

/** The errno of the last native call. */
export function lastErrno(): number {
  return koffi.errno();
}

/** A failed native call as an Error value: "what: strerror (errno)". */
export function errnoError(what: string, errno: number): Error & { errno: number } {
  const code = Math.abs(errno);
  const err = new Error(`${what}: ${libcCalls.strerror(code)} (errno ${code})`) as Error & { errno: number };
  err.errno = code;
  return err;
}

export function view(ptr: Ptr, length: number): ArrayBuffer {
  return koffi.view(ptr, length);
}

export function pollFd(
  fd: number,
  onReadable: () => void,
): { stop(): void; close(): void; unref(): void } {
  return koffi.node.poll(fd, { readable: true }, () => onReadable());
}

/**
 * Route libbpf's own messages (warnings, CO-RE relocation failures) to
 * `sink`. libbpf hands a printf format and a va_list; on x86-64 a va_list
 * parameter is a pointer, so libc's vsnprintf can format it. Elsewhere the
 * messages are dropped rather than risk a wrong ABI.
 */
export function setLibbpfPrint(sink: ((level: number, line: string) => void) | null): void {
  if (sink === null || process.arch !== 'x64') {
    const silent = koffi.register(() => 0, koffi.pointer(printFn));
    libbpf.setPrint(silent);
    return;
  }
  const buf = Buffer.alloc(4096);
  const cb = koffi.register((level: number, fmt: Ptr, ap: Ptr) => {
    const n = libcCalls.vsnprintf(buf, buf.length, fmt, ap);
    if (n > 0) sink(level, buf.toString('utf8', 0, Math.min(n, buf.length - 1)).trimEnd());
    return 0;
  }, koffi.pointer(printFn));
  libbpf.setPrint(cb);
}
