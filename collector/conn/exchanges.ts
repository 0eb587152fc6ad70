/**
 * Names for a request that both ends of its connection, and its start and
 * its end, agree on: what ties spans into traces (collector/spans/TraceGraph).
 */
import type { Endpoint } from './endpoints.js';

const endpointKey = (e: Endpoint): string => `${e.address}:${e.port}`;

/** A connection as its end with these addresses files it: "local|remote" (the other end files it reversed). */
export const tupleKey = (local: Endpoint, remote: Endpoint): string => `${endpointKey(local)}|${endpointKey(remote)}`;

/** "client>server", the same from both ends. */
export const pairKey = (client: Endpoint, server: Endpoint): string => `${endpointKey(client)}>${endpointKey(server)}`;

/**
 * A request within its connection's pair: its HTTP/2 stream, or its stream
 * position (`base`, where the parser's client-to-server flow began, plus
 * the request's offset in it; TCP sequence numbers wrap at 2^32).
 */
export function exchangeKey(pair: string, req: { readonly streamId?: number; readonly requestOffset?: number }, base: number | null): string | undefined {
  if (req.streamId !== undefined) return `${pair}#${req.streamId}`;
  if (req.requestOffset === undefined || base === null) return undefined;
  return `${pair}@${(base + req.requestOffset) >>> 0}`;
}
