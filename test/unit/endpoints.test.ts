import { describe, expect, it } from 'vitest';
import { decodeEndpoints, formatIpv6 } from '../../collector/conn/endpoints.js';

function tuple(family: number, saddr: number[], daddr: number[], sport: number, dport: number): Uint8Array {
  const b = new Uint8Array(40);
  b.set(saddr, 0);
  b.set(daddr, 16);
  const v = new DataView(b.buffer);
  v.setUint16(32, sport, true);
  v.setUint16(34, dport, true);
  v.setUint16(36, family, true);
  return b;
}

const v6 = (text: string): number[] => {
  const [head = '', tail = ''] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
};

describe('endpoints', () => {
  it('IPv4', () => {
    expect(decodeEndpoints(tuple(2, [127, 0, 0, 1], [10, 1, 2, 3], 8080, 54321))).toEqual({
      networkType: 'ipv4',
      local: { address: '127.0.0.1', port: 8080 },
      remote: { address: '10.1.2.3', port: 54321 },
    });
  });

  it('IPv6, compressed per RFC 5952', () => {
    const e = decodeEndpoints(tuple(10, v6('::1'), v6('2001:db8::2:1'), 80, 40000));
    expect(e.networkType).toBe('ipv6');
    expect(e.local.address).toBe('::1');
    expect(e.remote.address).toBe('2001:db8::2:1');
    expect(formatIpv6(Uint8Array.from(v6('2001:db8:0:0:1:0:0:1')), 0)).toBe('2001:db8::1:0:0:1');
    expect(formatIpv6(Uint8Array.from(v6('1:2:3:4:5:6:7:8')), 0)).toBe('1:2:3:4:5:6:7:8');
  });

  it('v4-mapped IPv6 is reported as the IPv4 peer it is', () => {
    const e = decodeEndpoints(tuple(10, [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1], [...Array(10).fill(0), 0xff, 0xff, 192, 168, 1, 9], 3000, 5555));
    expect(e).toEqual({
      networkType: 'ipv4',
      local: { address: '127.0.0.1', port: 3000 },
      remote: { address: '192.168.1.9', port: 5555 },
    });
  });
});
