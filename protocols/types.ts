/**
 * Plain data types between the connection layer and the protocol parsers.
 * Parsers are pure (ARCHITECTURE decision 5): bytes and kernel timestamps
 * in, transactions and parse errors out; no I/O, no timers, no globals.
 */

/** Which way bytes flow on a connection, in protocol terms. */
export type FlowDirection = 'toServer' | 'toClient';

/**
 * One run of bytes the application moved in one call, as the kernel saw it.
 * Only a prefix may have been captured: `data.length <= length`. Parsers
 * must account for all `length` bytes and skip what they did not get.
 */
export interface Chunk {
  /** The captured prefix of the run. */
  readonly data: Uint8Array;
  /** True number of bytes moved. */
  readonly length: number;
  /** Kernel monotonic time (ns) when the first byte moved. */
  readonly tsFirst: number;
  /** Kernel monotonic time (ns) when the last byte moved. */
  readonly tsLast: number;
}

/** A header as seen on the wire; the name is lower-cased. */
export type Header = readonly [name: string, value: string];

/** One request with its response: what spans are made from. */
export interface HttpTransaction {
  /** 'HTTP/1.0', 'HTTP/1.1' or 'HTTP/2'. */
  readonly protocol: string;
  readonly method: string;
  /** Request target as sent: origin-form path and query, or absolute-form. */
  readonly target: string;
  readonly requestHeaders: readonly Header[];
  /** Body bytes of the request (after de-chunking framing). */
  readonly requestBodySize: number;
  /** Kernel ns: first and last byte of the request. */
  readonly requestStart: number;
  readonly requestEnd: number;
  /** Final (non-1xx) status code. */
  readonly status: number;
  readonly responseHeaders: readonly Header[];
  readonly responseBodySize: number;
  /** Kernel ns: first and last byte of the final response. */
  readonly responseStart: number;
  readonly responseEnd: number;
  /**
   * Set when the end of the response was not seen as framed (body framing
   * lost in uncaptured bytes, or cut by the connection closing): the end
   * time is the last byte seen, and body sizes may be short.
   */
  readonly truncated: boolean;
  /**
   * HTTP/1: where the request began, in bytes into the client-to-server
   * flow as it was fed to the parser (gaps counted), so the connection
   * layer can tell its TCP sequence number: the same at both ends.
   */
  readonly requestOffset?: number;
  /** HTTP/2: the stream, the same at both ends. */
  readonly streamId?: number;
  /** The object ParseOutput.started reported when this request began (the same object). */
  readonly start?: RequestStart;
  /** HTTP/2: trailers after the response body (gRPC puts its status there). */
  readonly responseTrailers?: readonly Header[];
  /** HTTP/2: the RST_STREAM error code, when the stream was reset. */
  readonly resetCode?: number;
  /**
   * HTTP/2 joined midway or after lost bytes: the fields ('method', 'path',
   * 'authority', 'status', 'trailers') whose values the header blocks did
   * not give back. They are left empty, never guessed.
   */
  readonly unrecovered?: readonly string[];
}

/** Why a parser lost its place. Counted per protocol and code. */
export interface ParseError {
  readonly code: string;
  readonly direction: FlowDirection;
  readonly detail?: string;
}

/** What a parser hands back after being fed. */
export interface ParseOutput {
  readonly transactions: readonly HttpTransaction[];
  readonly errors: readonly ParseError[];
  /** Requests whose heads were read since the last drain, in order: their transactions come later. */
  readonly started: readonly RequestStart[];
}

/**
 * What drain() returns when nothing happened since the last call (most
 * records: one per connection per record), instead of an object and three
 * arrays each time.
 */
// Not frozen: iterating frozen arrays leaves V8's fast path; the readonly types keep it empty.
export const NO_ITEMS: readonly never[] = [];
export const NOTHING_PARSED: ParseOutput = { transactions: NO_ITEMS, errors: NO_ITEMS, started: NO_ITEMS };

/**
 * A request whose head has been read, before its answer: where its span
 * belongs in a trace is decided then, in the order requests really
 * happened (a call made while serving a request starts after it).
 */
export interface RequestStart {
  readonly method: string;
  readonly target: string;
  readonly requestHeaders: readonly Header[];
  /** Kernel ns of its first byte: its transaction's requestStart. */
  readonly requestStart: number;
  /** As in HttpTransaction. */
  readonly requestOffset?: number;
  readonly streamId?: number;
}

/** A stateful parser for one connection, both directions. */
export interface ConnectionParser {
  /** Feed the next chunk of one direction, in order. Never throws. */
  push(direction: FlowDirection, chunk: Chunk): void;
  /** That direction has ended (EOF, FIN, connection closed) at `ts`. */
  end(direction: FlowDirection, ts: number): void;
  /**
   * Take what has completed since the last call. The object returned may be
   * the parser's own, good until its next drain(); its lists are the caller's.
   */
  drain(): ParseOutput;
  /**
   * How many of the next bytes of this direction the parser will only
   * count, never read (the rest of a body of known length); Infinity when
   * it will read nothing more there. Capture may skip copying them.
   */
  skippable(direction: FlowDirection): number;
  /** Requests waiting for their response: bounded, counted when dropped. */
  readonly pending: number;
  /**
   * The one request being served (read, not answered yet); undefined when
   * there is none, or more than one (which one a call belongs to is then
   * not known).
   */
  inFlight(): RequestStart | undefined;
}
