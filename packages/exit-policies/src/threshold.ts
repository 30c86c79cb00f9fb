import type { ExitContext, ExitPolicy, ModelManifest } from '@dytrack/core';
import { formatList, resolveThresholds } from './validate.js';

/** Options of {@link thresholdPolicy}. */
export interface ThresholdPolicyOptions {
  /**
   * Threshold on the terminating score of each exit, indexed by exit. Exits
   * past the end of the list never stop the frame early. Wins over `manifest`.
   */
  readonly thresholds?: readonly number[];
  /** Model whose `stages[k].exit.defaultThreshold` give the thresholds. */
  readonly manifest?: ModelManifest;
}

/** An `ExitPolicy` with its resolved per-exit thresholds. */
export interface ThresholdPolicy extends ExitPolicy {
  /** Threshold of each exit (a copy; changing it has no effect). */
  readonly thresholds: readonly number[];
}

/**
 * The DyTrack rule: stop at exit k when its terminating score (the decision
 * branch's predicted IoU) reaches `thresholds[k]`. A NaN score never stops the
 * frame (going deeper is the safe side). Stateless.
 *
 * @example
 * ```ts
 * const policy = thresholdPolicy({ manifest: model.manifest });      // the model's defaults
 * const eager = thresholdPolicy({ thresholds: [0.6, 0.5, 0.4] });    // faster operating point
 * ```
 */
export function thresholdPolicy(options: ThresholdPolicyOptions): ThresholdPolicy {
  const t = resolveThresholds(options?.thresholds, options?.manifest, 'thresholdPolicy');
  const count = t.length;
  return {
    specificationVersion: 'v1',
    name: `threshold${formatList(t)}`,
    get thresholds(): readonly number[] {
      return Array.from(t);
    },
    shouldExit(ctx: ExitContext): boolean {
      const k = ctx.exitIndex;
      return k >= 0 && k < count && ctx.terminatingScore >= t[k]!;
    },
  };
}
