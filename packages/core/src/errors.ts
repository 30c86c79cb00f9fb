/**
 * Error codes shared by every DyTrack package. A code is stable across releases;
 * the message is for people.
 */
export type DyTrackErrorCode =
  | 'INVALID_ARGUMENT'
  | 'INVALID_FRAME'
  | 'INVALID_BOX'
  | 'INVALID_MANIFEST'
  | 'MODEL_MISMATCH'
  | 'INVALID_MODEL'
  | 'BACKEND_ERROR'
  | 'INVALID_STATE'
  | 'DISPOSED'
  | 'UNSUPPORTED';

/** Base class of every error DyTrack throws on purpose. */
export class DyTrackError extends Error {
  /** Stable machine-readable code. */
  readonly code: DyTrackErrorCode;

  constructor(code: DyTrackErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DyTrackError';
    this.code = code;
  }
}

/** A function argument is out of its domain (NaN, negative, wrong type, ...). */
export class InvalidArgumentError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', message, options);
    this.name = 'InvalidArgumentError';
  }
}

/** A frame whose size, format or byte length is inconsistent. */
export class InvalidFrameError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_FRAME', message, options);
    this.name = 'InvalidFrameError';
  }
}

/** A box that is NaN, of zero or negative size, or outside the frame. */
export class InvalidBoxError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_BOX', message, options);
    this.name = 'InvalidBoxError';
  }
}

/**
 * A model manifest that does not follow the schema. `path` is a JSON path to the
 * offending field (for example `$.stages[1].outputs[0].role`).
 */
export class ManifestError extends DyTrackError {
  /** JSON path of the bad field. */
  readonly path: string;
  /** What the parser expected there. */
  readonly expected: string;

  constructor(path: string, expected: string, actual?: unknown) {
    super(
      'INVALID_MANIFEST',
      `invalid model manifest at ${path}: expected ${expected}` +
        (actual === undefined ? '' : `, got ${describeValue(actual)}`),
    );
    this.name = 'ManifestError';
    this.path = path;
    this.expected = expected;
  }
}

/** The ONNX files and the manifest disagree (hash, input or output names, shapes). */
export class ModelMismatchError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MODEL_MISMATCH', message, options);
    this.name = 'ModelMismatchError';
  }
}

/** A runtime backend failed (corrupt model bytes, bad feeds, runtime error). */
export class BackendError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND_ERROR', message, options);
    this.name = 'BackendError';
  }
}

/** A call that is not valid in the object's current state (`update` before `init`). */
export class InvalidStateError extends DyTrackError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('INVALID_STATE', message, options);
    this.name = 'InvalidStateError';
  }
}

/** Use of an object after `dispose()` / `release()`. */
export class DisposedError extends DyTrackError {
  constructor(what: string) {
    super('DISPOSED', `${what} has been disposed`);
    this.name = 'DisposedError';
  }
}

/** Short description of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `array(${value.length})`;
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? value.slice(0, 57) + '...' : value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'object') return 'object';
  return String(value);
}
