import type { Box, FrameResult } from '@dytrack/core';
import type { PolicySpec } from '@dytrack/exit-policies';

// Exit policies travel as the plain JSON data @dytrack/exit-policies defines.
export type { PolicySpec, PolicyInfo, PolicyParameterInfo } from '@dytrack/exit-policies';

/**
 * Wire types of the DyTrack server's HTTP and WebSocket API (version 1). The
 * server and the typed client both use them, and the OpenAPI document
 * describes the same shapes.
 */

/** Machine-readable error codes the server answers with (with HTTP status). */
export type ServerErrorCode =
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'FRAME_TOO_LARGE'
  | 'INVALID_FRAME'
  | 'INVALID_BOX'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_MODEL'
  | 'UNKNOWN_POLICY'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'SESSION_NOT_FOUND'
  | 'SESSION_NOT_INITIALIZED'
  | 'SESSION_CLOSED'
  | 'TOO_MANY_SESSIONS'
  | 'TOO_MANY_IN_FLIGHT'
  | 'UNAUTHORIZED'
  | 'SHUTTING_DOWN'
  | 'TRACKER_ERROR'
  | 'INTERNAL';

/** Body of every error response: `{ "error": { "code", "message" } }`. */
export interface ErrorBody {
  readonly error: {
    readonly code: ServerErrorCode;
    /** A sentence for people, naming the problem and, where it helps, the fix. */
    readonly message: string;
  };
}

/** Body of `POST /v1/sessions`. */
export interface CreateSessionRequest {
  /** Model name, one of `GET /v1/models`. Defaults to the server's first model. */
  readonly model?: string;
  /** Exit policy; the model's default thresholds (`{ "type": "threshold" }`) when omitted. */
  readonly policy?: PolicySpec;
  /** Confidence below which the target is reported lost; the tracker's default when omitted. */
  readonly lostThreshold?: number;
}

/** Where a session is in its life. */
export type SessionState = 'created' | 'tracking';

/** A session as the server describes it. */
export interface SessionInfo {
  readonly id: string;
  readonly model: string;
  /** The policy spec the session runs (after defaults). */
  readonly policy: PolicySpec;
  /** The exit policy's own name (`threshold[0.6,0.5]`, say). */
  readonly policyName: string;
  readonly state: SessionState;
  /** Frames tracked since the last init. */
  readonly frames: number;
  /** Frames accepted and not yet answered. */
  readonly inFlight: number;
  /** ISO 8601 creation time. */
  readonly createdAt: string;
  /** Milliseconds of inactivity after which the session expires. */
  readonly idleTimeoutMs: number;
}

/** A box in frame pixels (top-left corner and size). */
export type WireBox = Box;

/** Result of `POST /v1/sessions/{id}/frames`: the tracker's {@link FrameResult}. */
export type FrameResultBody = FrameResult;

/** Result of `POST /v1/sessions/{id}/init`. */
export interface InitResultBody {
  readonly id: string;
  readonly state: 'tracking';
  /** The box the session was initialised with. */
  readonly box: WireBox;
  /** Size of the init frame. */
  readonly width: number;
  readonly height: number;
}

/** One model the server can run (`GET /v1/models`). */
export interface ModelInfo {
  readonly name: string;
  readonly variant: string | undefined;
  /** Number of exits (stages) of the model. */
  readonly exits: number;
  /** Each exit's default threshold on the terminating score. */
  readonly defaultThresholds: readonly number[];
  readonly templateSize: number;
  readonly searchSize: number;
}

/** Body of `GET /v1/health`. */
export interface HealthBody {
  readonly status: 'ok' | 'shutting-down';
  readonly sessions: number;
  readonly uptimeSeconds: number;
}

/** Messages the server sends on a session's WebSocket stream. */
export type StreamServerMessage =
  | { readonly type: 'ready'; readonly session: SessionInfo }
  | { readonly type: 'initialized'; readonly seq: number; readonly result: InitResultBody }
  | { readonly type: 'result'; readonly seq: number; readonly result: FrameResultBody }
  | { readonly type: 'error'; readonly seq: number | null; readonly error: ErrorBody['error'] };

/** Control messages a client sends (as text) on a session's WebSocket stream. */
export type StreamClientMessage =
  | {
      /** The next binary message is an init frame for this box. */
      readonly type: 'init';
      readonly box: WireBox;
    }
  | {
      /**
       * Declares the geometry of raw frames: binary messages that are neither
       * JPEG nor PNG are read as `width x height` pixels of `format`.
       */
      readonly type: 'raw-format';
      readonly width: number;
      readonly height: number;
      readonly format?: 'rgb' | 'rgba';
    };
