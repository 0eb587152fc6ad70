/** Which mapped files are TLS libraries to probe, from real /proc/PID/maps lines. */
import { describe, expect, it } from 'vitest';
import { mappedLibraries } from '../../collector/tls/libraries.js';

const MAPS = `55d0c7a00000-55d0c7a2e000 r--p 00000000 fe:00 1312 /usr/bin/curl
7f1c2a000000-7f1c2a020000 r--p 00000000 fe:00 2201 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2a020000-7f1c2a090000 r-xp 00020000 fe:00 2201 /usr/lib/x86_64-linux-gnu/libssl.so.3
7f1c2b000000-7f1c2b100000 r-xp 00000000 fe:00 2305 /usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3
7f1c2c000000-7f1c2c001000 r-xp 00000000 fe:00 2400 /usr/lib/x86_64-linux-gnu/libssl3.so
7f1c2d000000-7f1c2d001000 r-xp 00000000 fe:00 2500 /opt/app/libssl.so.1.1 (deleted)
7f1c2e000000-7f1c2e030000 r-xp 00000000 fe:00 2600 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0 [stack]
7f1c2f000000-7f1c2f001000 r-xp 00000000 00:2d 77 /lib/libssl.so.1.1
`;

describe('mappedLibraries', () => {
  it('finds OpenSSL, GnuTLS, the dynamic linker and the executable, once per file', () => {
    expect(mappedLibraries(MAPS, '/usr/bin/curl')).toEqual([
      { kind: 'executable', path: '/usr/bin/curl', key: 'fe:00:1312' },
      { kind: 'openssl', path: '/usr/lib/x86_64-linux-gnu/libssl.so.3', key: 'fe:00:2201' },
      { kind: 'gnutls', path: '/usr/lib/x86_64-linux-gnu/libgnutls.so.30.34.3', key: 'fe:00:2305' },
      { kind: 'ldso', path: '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', key: 'fe:00:2600' },
      // OpenSSL 1.1 in another mount namespace's file system: its own device.
      { kind: 'openssl', path: '/lib/libssl.so.1.1', key: '00:2d:77' },
    ]);
  });

  it("skips NSS's libssl3.so, files replaced on disk, and anonymous mappings", () => {
    const kinds = mappedLibraries(MAPS).map((l) => l.path);
    expect(kinds).not.toContain('/usr/lib/x86_64-linux-gnu/libssl3.so');
    expect(kinds.some((p) => p.includes('deleted') || p.startsWith('/opt/app'))).toBe(false);
  });
});
