/** W3C Trace Context as requests carry it; parsing is the OpenTelemetry SDK's own. */
import type { TraceState as ApiTraceState } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import type { Header } from '../../protocols/types.js';

/** A parent in another process, as a traceparent named it. */
export interface RemoteParent {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly traceState: ApiTraceState | undefined;
}

/** The first value of a header (names are lower case in transactions). */
function headerOf(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** The parent a request's traceparent names; null when it has none, or an invalid one. */
export function remoteParent(headers: readonly Header[]): RemoteParent | null {
  const value = headerOf(headers, 'traceparent');
  const ctx = value === undefined ? null : parseTraceParent(value);
  if (ctx === null) return null;
  const state = headerOf(headers, 'tracestate');
  return { traceId: ctx.traceId, spanId: ctx.spanId, traceFlags: ctx.traceFlags, traceState: state === undefined ? undefined : new TraceState(state) };
}

/** Lower-case hex into `out` at `at`. */
export function putHex(out: Uint8Array, at: number, hex: string): void {
  for (let i = 0; i < hex.length; i += 2) out[at + i / 2] = Number.parseInt(hex.slice(i, i + 2), 16);
}
