/**
 * One HTTP/2 stream as it is being seen: the request and response heads,
 * body sizes and times, and how it ended. Becomes one transaction.
 */
import type { Header, HttpTransaction, RequestStart } from '../types.js';

export interface Stream {
  readonly id: number;
  method: string;
  path: string;
  requestHeaders: Header[];
  requestStart: number;
  requestEnd: number;
  requestBody: number;
  requestEnded: boolean;
  /** 0 until a final (non-1xx) status. */
  status: number;
  responseHeaders: Header[];
  responseTrailers: Header[] | undefined;
  responseStart: number;
  responseEnd: number;
  responseBody: number;
  /** Response headers seen (final, or a head whose status could not be read). */
  responded: boolean;
  resetCode: number | undefined;
  /** Request or response fields the header blocks did not give back. */
  unrecovered: Set<string>;
  /** What was reported when it began: set once, by streamStart. */
  start: RequestStart | undefined;
}

export function newStream(id: number, ts: number): Stream {
  return {
    id,
    method: '',
    path: '',
    requestHeaders: [],
    requestStart: ts,
    requestEnd: ts,
    requestBody: 0,
    requestEnded: false,
    status: 0,
    responseHeaders: [],
    responseTrailers: undefined,
    responseStart: 0,
    responseEnd: 0,
    responseBody: 0,
    responded: false,
    resetCode: undefined,
    unrecovered: new Set(),
    start: undefined,
  };
}

export function headerValue(headers: readonly Header[], name: string): string | undefined {
  for (const [n, v] of headers) if (n === name) return v;
  return undefined;
}

/** The stream's transaction; `truncated` when its end was not seen as sent. */
/** A stream's request, once its headers are read. */
export function streamStart(s: Stream): RequestStart {
  s.start ??= { method: s.method, target: s.path, requestHeaders: s.requestHeaders, requestStart: s.requestStart, streamId: s.id };
  return s.start;
}

export function streamTransaction(s: Stream, truncated: boolean): HttpTransaction {
  const responseStart = s.responded ? s.responseStart : Math.max(s.responseEnd, s.requestEnd);
  return {
    protocol: 'HTTP/2',
    streamId: s.id,
    // Undefined rather than absent when not reported: a spread here made every transaction twice.
    start: s.start,
    method: s.method,
    target: s.path,
    requestHeaders: s.requestHeaders,
    requestBodySize: s.requestBody,
    requestStart: s.requestStart,
    requestEnd: s.requestEnd,
    status: s.status,
    responseHeaders: s.responseHeaders,
    responseBodySize: s.responseBody,
    responseStart,
    responseEnd: Math.max(s.responseEnd, responseStart),
    truncated,
    ...(s.responseTrailers !== undefined ? { responseTrailers: s.responseTrailers } : {}),
    ...(s.resetCode !== undefined ? { resetCode: s.resetCode } : {}),
    ...(s.unrecovered.size > 0 ? { unrecovered: [...s.unrecovered] } : {}),
  };
}
