import type { ExitContext, ExitPolicy } from '@dytrack/core';
import { checkInteger } from './validate.js';

/** Options of {@link fixedDepthPolicy}. */
export interface FixedDepthPolicyOptions {
  /** Exit to take on every frame (0-based). Larger than the model's last exit means full depth. */
  readonly exit: number;
}

/**
 * Always stops at exit `exit`: the static baselines ("always exit k") against
 * which the dynamic policies are measured. Stateless.
 *
 * @example
 * ```ts
 * const shallow = fixedDepthPolicy({ exit: 0 });
 * ```
 */
export function fixedDepthPolicy(options: FixedDepthPolicyOptions): ExitPolicy {
  const exit = checkInteger(options?.exit, 'fixedDepthPolicy.exit', 0);
  return {
    specificationVersion: 'v1',
    name: `fixedDepth(${exit})`,
    shouldExit(ctx: ExitContext): boolean {
      return ctx.exitIndex >= exit;
    },
  };
}
