import { InvalidFrameError } from '@dytrack/core';

/**
 * What is wrong with an image: it could not be read (`'unreadable'`, file
 * APIs only), its bytes are neither JPEG nor PNG (`'unrecognized'`), they are
 * a damaged or truncated JPEG/PNG (`'corrupt'`), or the image is larger than
 * the caller allows (`'too-large'`).
 */
export type ImageProblem = 'unreadable' | 'unrecognized' | 'corrupt' | 'too-large';

/**
 * An image that cannot be turned into a frame. It is an
 * {@link InvalidFrameError} (code `INVALID_FRAME`); the message is
 * `"<source>: <detail>"` when a source name was given, else just the detail.
 */
export class ImageDecodeError extends InvalidFrameError {
  /** What kind of problem it is, for callers that map problems to their own errors. */
  readonly problem: ImageProblem;
  /** The file path or name the caller gave, if any. */
  readonly source: string | undefined;
  /** The problem in words, without the source name (e.g. `corrupt PNG image: the IHDR chunk is missing`). */
  readonly detail: string;

  constructor(problem: ImageProblem, detail: string, source?: string, options?: { cause?: unknown }) {
    super(source === undefined ? detail : `${source}: ${detail}`, options);
    this.name = 'ImageDecodeError';
    this.problem = problem;
    this.source = source;
    this.detail = detail;
  }
}
