import type { ExitContext, ExitPolicy } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import { checkUnit, formatList } from './validate.js';

/** Options of {@link confidencePolicy}. */
export interface ConfidencePolicyOptions {
  /**
   * Minimum peak of the exit's score map to stop there: one value for every
   * exit, or one per exit (exits past the end never stop early).
   */
  readonly threshold: number | readonly number[];
}

/**
 * Stops at the first exit whose confidence (the unwindowed peak of its score
 * map) reaches the threshold. Ignores the decision branch, so it also works as
 * a baseline for models whose terminating score is untrained. NaN never stops
 * the frame. Stateless.
 *
 * @example
 * ```ts
 * const policy = confidencePolicy({ threshold: 0.7 });
 * ```
 */
export function confidencePolicy(options: ConfidencePolicyOptions): ExitPolicy {
  const raw = options?.threshold;
  let t: Float64Array;
  let name: string;
  if (typeof raw === 'number') {
    t = new Float64Array([checkUnit(raw, 'confidencePolicy.threshold')]);
    name = `confidence(${Math.round(raw * 1000) / 1000})`;
  } else if (Array.isArray(raw) && raw.length > 0) {
    t = new Float64Array(raw.length);
    raw.forEach((v, k) => {
      t[k] = checkUnit(v, `confidencePolicy.threshold[${k}]`);
    });
    name = `confidence${formatList(t)}`;
  } else {
    throw new InvalidArgumentError('confidencePolicy.threshold must be a number in [0, 1] or a non-empty array of them');
  }
  const perExit = typeof raw !== 'number';
  const count = t.length;
  return {
    specificationVersion: 'v1',
    name,
    shouldExit(ctx: ExitContext): boolean {
      const k = ctx.exitIndex;
      if (!perExit) return ctx.confidence >= t[0]!;
      return k >= 0 && k < count && ctx.confidence >= t[k]!;
    },
  };
}
