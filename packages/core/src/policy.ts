import type { Box } from './frame.js';
import type { FrameResult } from './tracker.js';

/**
 * What an exit policy sees after each exit. The tracker reuses one object per
 * frame (it is mutated between calls): read it, do not keep it.
 */
export interface ExitContext {
  /** Index of the exit just computed (0-based). */
  readonly exitIndex: number;
  /** Number of exits in the model; the last one always ends the frame. */
  readonly exitCount: number;
  /**
   * The exit's terminating score, in [0, 1]: the predicted IoU of its box, or for a model trained
   * with the as-good-as-last decision target (its manifest's `provenance.training.loss.decisionTarget`)
   * the predicted probability that its box is as good as the last exit's.
   */
  readonly terminatingScore: number;
  /** Peak of the exit's score map (unwindowed), in [0, 1]. */
  readonly confidence: number;
  /** The box this exit would report, in frame pixels. */
  readonly box: Box;
  /** Milliseconds spent on this frame so far. */
  readonly elapsedMs: number;
  /** Frame index (0 is the init frame; updates start at 1). */
  readonly frameIndex: number;
  /** The previous frame's result, if any. */
  readonly previous: FrameResult | undefined;
}

/**
 * Decides, after each exit, whether to stop the frame there. `shouldExit` is on
 * the hot path: synchronous and allocation-free. A plain object implementing
 * this interface is a policy; there is no registry.
 */
export interface ExitPolicy {
  readonly specificationVersion: 'v1';
  /** Short name for logs and tables. */
  readonly name: string;
  /** Return true to stop at this exit. Not called for the last exit. */
  shouldExit(ctx: ExitContext): boolean;
  /** Called once per frame with its result (policies that learn online use it). */
  onFrameEnd?(result: FrameResult): void;
  /** Forget per-sequence state (called by `tracker.init` and `tracker.reset`). */
  reset?(): void;
}
