/**
 * A request and its response while they are being read: what becomes an
 * HttpTransaction once both are complete.
 */
import type { Header, HttpTransaction, RequestStart } from '../types.js';
import { NO_ITEMS } from '../types.js';
import type { MessageHead } from './MessageReader.js';

export interface Exchange {
  readonly method: string;
  readonly target: string;
  readonly protocol: string;
  readonly requestHeaders: readonly Header[];
  readonly requestStart: number;
  /** Bytes into the client-to-server flow where the request began. */
  readonly requestOffset: number;
  /** What was reported when it began: set once, by requestStartOf. */
  start?: RequestStart;
  requestEnd: number;
  requestBodySize: number;
  requestDone: boolean;
  /** 0 until the final response's head is read. */
  status: number;
  responseHeaders: readonly Header[];
  responseStart: number;
  responseEnd: number;
  responseBodySize: number;
  responseDone: boolean;
  truncated: boolean;
  /**
   * The request was lost or broken: its place in the pipeline is kept so
   * that its response is read and discarded rather than paired wrongly.
   */
  dropped: boolean;
}

export function newExchange(head: MessageHead, startTs: number, startOffset: number): Exchange {
  return {
    method: head.method,
    target: head.target,
    protocol: head.protocol,
    requestHeaders: head.headers,
    requestStart: startTs,
    requestOffset: startOffset,
    requestEnd: startTs,
    requestBodySize: 0,
    requestDone: false,
    status: 0,
    // Shared, not a new empty array per request: the response's own replace it.
    responseHeaders: NO_ITEMS,
    responseStart: 0,
    responseEnd: 0,
    responseBodySize: 0,
    responseDone: false,
    truncated: false,
    dropped: false,
  };
}

export function toTransaction(ex: Exchange): HttpTransaction {
  return {
    protocol: ex.protocol,
    method: ex.method,
    target: ex.target,
    requestHeaders: ex.requestHeaders,
    requestBodySize: ex.requestBodySize,
    requestStart: ex.requestStart,
    requestOffset: ex.requestOffset,
    // Undefined rather than absent when not reported: a spread here made every transaction twice.
    start: ex.start,
    requestEnd: ex.requestEnd,
    status: ex.status,
    responseHeaders: ex.responseHeaders,
    responseBodySize: ex.responseBodySize,
    responseStart: ex.responseStart,
    responseEnd: ex.responseEnd,
    truncated: ex.truncated,
  };
}

/** The request as reported when it began: one object per request, also on its transaction. */
export function requestStartOf(ex: Exchange): RequestStart {
  ex.start ??= { method: ex.method, target: ex.target, requestHeaders: ex.requestHeaders, requestStart: ex.requestStart, requestOffset: ex.requestOffset };
  return ex.start;
}
