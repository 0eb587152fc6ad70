/**
 * Sonde's own outgoing TCP endpoints. The kernel never traces Sonde, but
 * the process at the other end of Sonde's exports (a collector it was not
 * told to exclude) is traced like any other; its spans for receiving our
 * exports would be exported in turn, forever. The kernel reports each
 * connect() Sonde makes; connections whose peer is one of these local
 * endpoints are dropped.
 */
import { networkInterfaces } from 'node:os';

const REMEMBERED = 4096;

function hostAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) out.add(a.address);
  return out;
}

export class OwnSockets {
  /** Local ports of Sonde's connections, oldest first. */
  private readonly ports = new Set<number>();
  private readonly addresses = hostAddresses();

  add(port: number): void {
    this.ports.delete(port);
    this.ports.add(port);
    if (this.ports.size > REMEMBERED) this.ports.delete(this.ports.values().next().value!);
  }

  /** Is address:port one of Sonde's own sockets on this host? */
  has(address: string, port: number): boolean {
    return this.ports.has(port) && (address.startsWith('127.') || address === '::1' || this.addresses.has(address));
  }
}
