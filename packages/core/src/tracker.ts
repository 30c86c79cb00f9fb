import type { Box, ImageFrame } from './frame.js';
import type { ExitPolicy } from './policy.js';

/** Time spent on one frame, in milliseconds. */
export interface FrameTimings {
  /** Crop, resize and normalisation. */
  readonly preprocessMs: number;
  /** Backend runs (the network alone). */
  readonly inferenceMs: number;
  /** Decoding maps and asking the exit policy. */
  readonly decisionMs: number;
  /** The whole `update` call. */
  readonly totalMs: number;
}

/** What one exit said on a frame (recorded for every exit the frame ran). */
export interface ExitTrace {
  readonly exitIndex: number;
  readonly box: Box;
  readonly confidence: number;
  readonly terminatingScore: number;
}

/** The result of `tracker.update(frame)`. */
export interface FrameResult {
  /** 1 for the first update after init. */
  readonly frameIndex: number;
  /** The reported box: the new estimate, or the last good box while lost. */
  readonly box: Box;
  /** The estimate of the exit taken, even when `lost` (for diagnostics). */
  readonly rawBox: Box;
  /** Peak of the taken exit's score map, in [0, 1]. */
  readonly confidence: number;
  /** The taken exit's terminating score, in [0, 1]. */
  readonly terminatingScore: number;
  /** True when confidence fell below the tracker's lost threshold. */
  readonly lost: boolean;
  /** Index of the exit taken (0-based). */
  readonly exitIndex: number;
  /** Stages run on this frame (`exitIndex + 1`). */
  readonly stagesRun: number;
  readonly timings: FrameTimings;
  /** Every exit computed on this frame, shallowest first. */
  readonly exits: readonly ExitTrace[];
}

/**
 * A single-object tracker, OpenCV style: `init(frame, box)` then `update(frame)`
 * per frame.
 */
export interface Tracker {
  /** Starts (or restarts) tracking `box` in `frame`. */
  init(frame: ImageFrame, box: Box): Promise<void>;
  /** Tracks the target into `frame`. Rejects before `init` and after `dispose`. */
  update(frame: ImageFrame): Promise<FrameResult>;
  /** Forgets the target; `init` must be called again. */
  reset(): void;
  /** Swaps the exit policy; takes effect from the next frame. */
  setExitPolicy(policy: ExitPolicy): void;
  /** The policy in use. */
  readonly exitPolicy: ExitPolicy;
  /** Releases sessions and recycled tensors. Harmless when called twice. */
  dispose(): Promise<void>;
}
