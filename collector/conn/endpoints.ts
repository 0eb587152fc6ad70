/**
 * A connection's addresses, decoded once from the kernel's struct
 * sonde_tuple. IPv4-mapped IPv6 addresses (a dual-stack socket talking to
 * an IPv4 peer) are reported as the IPv4 address they carry, which is what
 * the peer really is.
 */
import { Layout } from '../ebpf/abi.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface Endpoints {
  /** 'ipv4' or 'ipv6', after unmapping (semconv network.type). */
  readonly networkType: 'ipv4' | 'ipv6';
  readonly local: Endpoint;
  readonly remote: Endpoint;
}

const AF_INET = 2;

function ipv4(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function isV4Mapped(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}

/** RFC 5952 text form: lower case, longest run of zero groups as "::". */
export function formatIpv6(b: Uint8Array, off: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function address(b: Uint8Array, off: number, family: number): { address: string; v4: boolean } {
  if (family === AF_INET) return { address: ipv4(b, off), v4: true };
  if (isV4Mapped(b, off)) return { address: ipv4(b, off + 12), v4: true };
  return { address: formatIpv6(b, off), v4: false };
}

export function decodeEndpoints(tuple: Uint8Array): Endpoints {
  const T = Layout.tuple;
  const dv = new DataView(tuple.buffer, tuple.byteOffset, tuple.byteLength);
  const family = dv.getUint16(T.family, true);
  const local = address(tuple, T.saddr, family);
  const remote = address(tuple, T.daddr, family);
  return {
    networkType: remote.v4 ? 'ipv4' : 'ipv6',
    local: { address: local.address, port: dv.getUint16(T.sport, true) },
    remote: { address: remote.address, port: dv.getUint16(T.dport, true) },
  };
}

/** Same socket address and ports: a recycled struct sock shows up as a different tuple. */
export function sameTuple(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
