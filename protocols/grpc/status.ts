/**
 * gRPC facts read from an HTTP/2 transaction: is it a gRPC call, which
 * method, and how it ended. The status comes from the grpc-status trailer
 * (or the Trailers-Only head); a call reset without one gets the status
 * gRPC's own mapping of RST_STREAM codes gives, and a client giving up at
 * the deadline its grpc-timeout announced is DEADLINE_EXCEEDED, as the
 * client itself reported it.
 */
import type { Header, HttpTransaction } from '../types.js';

export const GrpcStatus = {
  Ok: 0,
  Cancelled: 1,
  Unknown: 2,
  DeadlineExceeded: 4,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  ResourceExhausted: 8,
  PermissionDenied: 7,
} as const;

export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

function value(headers: readonly Header[] | undefined, name: string): string | undefined {
  if (headers === undefined) return undefined;
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** gRPC is HTTP/2 with content-type application/grpc (and its +proto, +json variants). */
export function isGrpc(tx: HttpTransaction): boolean {
  const ct = value(tx.requestHeaders, 'content-type') ?? value(tx.responseHeaders, 'content-type') ?? '';
  return ct.startsWith('application/grpc');
}

/** "/package.Service/Method" -> its parts; undefined when the path is not of that form. */
export function grpcMethod(path: string): { service: string; method: string } | undefined {
  const slash = path.indexOf('/', 1);
  if (path.charCodeAt(0) !== 0x2f || slash < 2 || slash === path.length - 1 || path.indexOf('/', slash + 1) >= 0) return undefined;
  return { service: path.slice(1, slash), method: path.slice(slash + 1) };
}

/** RST_STREAM codes -> gRPC status (gRPC's PROTOCOL-HTTP2 document). */
const RESET_STATUS: Readonly<Record<number, number>> = {
  0x7: GrpcStatus.Unavailable, // REFUSED_STREAM: not processed, safe to retry
  0x8: GrpcStatus.Cancelled, // CANCEL
  0xb: GrpcStatus.ResourceExhausted, // ENHANCE_YOUR_CALM
  0xc: GrpcStatus.PermissionDenied, // INADEQUATE_SECURITY
};
const RST_CANCEL = 0x8;

const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_NS: Readonly<Record<string, number>> = { H: 3600e9, M: 60e9, S: 1e9, m: 1e6, u: 1e3, n: 1 };

/** The grpc-timeout of the request, in ns. */
export function grpcTimeoutNs(tx: HttpTransaction): number | undefined {
  const m = TIMEOUT.exec(value(tx.requestHeaders, 'grpc-timeout') ?? '');
  return m === null ? undefined : Number(m[1]) * TIMEOUT_UNIT_NS[m[2]!]!;
}

/** The call's status code; undefined when the trailers were not recovered. */
export function grpcStatusCode(tx: HttpTransaction): number | undefined {
  const text = value(tx.responseTrailers, 'grpc-status');
  if (text !== undefined) {
    const code = Number.parseInt(text, 10);
    return Number.isInteger(code) && code >= 0 ? code : GrpcStatus.Unknown;
  }
  if (tx.resetCode !== undefined) {
    if (tx.resetCode === RST_CANCEL) {
      const timeout = grpcTimeoutNs(tx);
      // Clients announce a little less than they wait: allow for it.
      if (timeout !== undefined && tx.responseEnd - tx.requestStart >= timeout * 0.9) return GrpcStatus.DeadlineExceeded;
    }
    return RESET_STATUS[tx.resetCode] ?? GrpcStatus.Internal;
  }
  if (tx.unrecovered?.includes('trailers')) return undefined;
  // A response that ended with no status at all (or a non-200 HTTP status) is a failed call.
  if (tx.status !== 0 && tx.status !== 200) return httpToGrpc(tx.status);
  return tx.truncated ? GrpcStatus.Unavailable : GrpcStatus.Unknown;
}

/** gRPC's mapping of HTTP statuses from non-gRPC intermediaries. */
function httpToGrpc(status: number): number {
  switch (status) {
    case 400:
      return GrpcStatus.Internal;
    case 401:
      return 16;
    case 403:
      return GrpcStatus.PermissionDenied;
    case 404:
      return GrpcStatus.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return GrpcStatus.Unavailable;
    default:
      return GrpcStatus.Unknown;
  }
}

/** Statuses a server reports as its own failure (semantic conventions for gRPC spans). */
const SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]);

/** Span status per the gRPC conventions: every non-OK code fails a CLIENT span; only server faults fail a SERVER span. */
export function grpcFailed(code: number | undefined, role: 'client' | 'server'): boolean {
  if (code === undefined) return false;
  return role === 'client' ? code !== 0 : SERVER_ERRORS.has(code);
}
