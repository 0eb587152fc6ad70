/** Bounds of one HTTP/2 connection's parser (ARCHITECTURE decision 6). */
export interface Http2Limits {
  /** Streams followed at once; past it the oldest is dropped and counted. */
  readonly maxStreams: number;
  /** A header block (HEADERS and its CONTINUATIONs) longer than this is not decoded. */
  readonly maxHeaderBlock: number;
  /** Decoded header list size (RFC 7541 entry sizes) accepted per block. */
  readonly maxHeaderListSize: number;
}

export const DEFAULT_HTTP2_LIMITS: Http2Limits = {
  maxStreams: 1000,
  maxHeaderBlock: 64 * 1024,
  maxHeaderListSize: 64 * 1024,
};

export interface Http2Stats {
  skippedBytes: number;
  resyncs: number;
  /** Header blocks not decoded (bytes lost or too long): the HPACK table of that direction is partly unknown after. */
  lostHeaderBlocks: number;
  /** Streams dropped before they completed (limit, GOAWAY, connection end with no response). */
  droppedStreams: number;
}
