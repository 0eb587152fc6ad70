/**
 * Bounds that keep one connection's parser small whatever it is fed.
 */

export interface Http1Limits {
  /** Largest head (start line, fields and the empty line), in bytes. */
  readonly maxHeaderBytes: number;
  /** Most header fields in one head. */
  readonly maxHeaders: number;
  /** Most requests waiting for their response (pipelining). */
  readonly maxPending: number;
  /** Longest request target, in bytes. */
  readonly maxTargetLength: number;
}

export const DEFAULT_LIMITS: Http1Limits = {
  maxHeaderBytes: 64 * 1024,
  maxHeaders: 128,
  maxPending: 64,
  maxTargetLength: 8 * 1024,
};

function positive(value: number | undefined, fallback: number): number {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : fallback;
}

/** The given limits with defaults for what is missing or not a positive integer. */
export function resolveLimits(limits: Partial<Http1Limits> = {}): Http1Limits {
  return {
    maxHeaderBytes: positive(limits.maxHeaderBytes, DEFAULT_LIMITS.maxHeaderBytes),
    maxHeaders: positive(limits.maxHeaders, DEFAULT_LIMITS.maxHeaders),
    maxPending: positive(limits.maxPending, DEFAULT_LIMITS.maxPending),
    maxTargetLength: positive(limits.maxTargetLength, DEFAULT_LIMITS.maxTargetLength),
  };
}

/** Counters of bytes the parser passed over without making messages of them. */
export interface Http1Stats {
  /** Bytes skipped while looking for a message start, or after an upgrade request. */
  skippedBytes: number;
  /** Times a direction lost its place after an error or a gap and went looking again. */
  resyncs: number;
}
