import { InvalidArgumentError, describeValue } from '@dytrack/core';

/** Resource limits of a server. Every field has a default ({@link DEFAULT_LIMITS}). */
export interface ServerLimits {
  /** Largest request body (and WebSocket message) in bytes. Default 16 MiB. */
  readonly maxBodyBytes: number;
  /** Largest frame side in pixels, checked from the image header before decoding. Default 4096. */
  readonly maxFrameSide: number;
  /** Largest frame area in pixels. Default 4096 * 2160 (4K UHD, with room). */
  readonly maxFramePixels: number;
  /** Open sessions in total. Default 64. */
  readonly maxSessions: number;
  /** Open sessions per client (bearer token, or remote address without auth). Default 8. */
  readonly maxSessionsPerClient: number;
  /** A session with no request for this long expires and its tracker is disposed. Default 60 000 ms. */
  readonly sessionIdleMs: number;
  /**
   * Frames of one session accepted but not yet answered. Past it HTTP answers
   * 429 and a WebSocket stream stops reading from its socket until a result
   * goes out. Default 2 (one running, one waiting).
   */
  readonly maxInFlightPerSession: number;
  /** Time allowed for in-flight frames to finish on shutdown before sessions are disposed anyway. Default 10 000 ms. */
  readonly shutdownGraceMs: number;
}

/** The limits used for every field {@link ServerLimits} leaves out. */
export const DEFAULT_LIMITS: ServerLimits = Object.freeze({
  maxBodyBytes: 16 * 1024 * 1024,
  maxFrameSide: 4096,
  maxFramePixels: 4096 * 2160,
  maxSessions: 64,
  maxSessionsPerClient: 8,
  sessionIdleMs: 60_000,
  maxInFlightPerSession: 2,
  shutdownGraceMs: 10_000,
});

/** Fills defaults and checks every limit is a positive integer. Throws {@link InvalidArgumentError}. */
export function resolveLimits(limits: Partial<ServerLimits> | undefined): ServerLimits {
  const out = { ...DEFAULT_LIMITS, ...(limits ?? {}) };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof ServerLimits)[]) {
    const v = out[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw new InvalidArgumentError(`createServer: limits.${key} must be a positive integer, got ${describeValue(v)}`);
    }
  }
  return Object.freeze(out);
}
