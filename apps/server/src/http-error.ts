import { DyTrackError } from '@dytrack/core';
import type { ErrorBody, ServerErrorCode } from './protocol.js';

/**
 * An error that becomes an HTTP response (or a WebSocket `error` message):
 * a status, a stable code and a message for people.
 */
export class HttpError extends Error {
  /** HTTP status to answer with. */
  readonly status: number;
  /** Stable machine-readable code. */
  readonly code: ServerErrorCode;
  /** Extra response headers (`Retry-After`, `WWW-Authenticate`). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, code: ServerErrorCode, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.status = status;
    this.code = code;
    this.headers = options?.headers ?? {};
  }

  /** The JSON body of the response. */
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

/**
 * Maps anything thrown while serving a request to an {@link HttpError}: the
 * errors DyTrack throws on purpose keep their meaning (a bad frame is the
 * client's fault, 400; a call in the wrong state is 409); anything else is a
 * 500 whose message does not leak internals.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof DyTrackError) {
    switch (error.code) {
      case 'INVALID_FRAME':
        return new HttpError(400, 'INVALID_FRAME', error.message, { cause: error });
      case 'INVALID_BOX':
        return new HttpError(400, 'INVALID_BOX', error.message, { cause: error });
      case 'INVALID_ARGUMENT':
        return new HttpError(400, 'INVALID_ARGUMENT', error.message, { cause: error });
      case 'INVALID_STATE':
        return new HttpError(409, 'SESSION_NOT_INITIALIZED', error.message, { cause: error });
      case 'DISPOSED':
        return new HttpError(410, 'SESSION_CLOSED', error.message, { cause: error });
      default:
        return new HttpError(500, 'TRACKER_ERROR', `the tracker failed: ${error.message}`, { cause: error });
    }
  }
  return new HttpError(500, 'INTERNAL', 'internal server error', { cause: error });
}
