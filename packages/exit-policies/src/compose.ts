import type { ExitContext, ExitPolicy, FrameResult } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';

function checkPolicies(policies: readonly ExitPolicy[], what: string): readonly ExitPolicy[] {
  if (policies.length === 0) throw new InvalidArgumentError(`${what} needs at least one policy`);
  policies.forEach((p, i) => {
    if (p === null || typeof p !== 'object' || p.specificationVersion !== 'v1' || typeof p.shouldExit !== 'function') {
      throw new InvalidArgumentError(`${what}: argument ${i} is not an ExitPolicy (specificationVersion 'v1' with shouldExit)`);
    }
  });
  return policies.slice();
}

function composite(kind: 'anyOf' | 'allOf', list: readonly ExitPolicy[]): ExitPolicy {
  const n = list.length;
  const any = kind === 'anyOf';
  return {
    specificationVersion: 'v1',
    name: `${kind}(${list.map((p) => p.name).join(', ')})`,
    shouldExit(ctx: ExitContext): boolean {
      // Every member sees every exit (no short circuit): members that learn
      // within a frame, such as the latency governor, need each observation.
      let result = !any;
      for (let i = 0; i < n; i++) {
        const d = list[i]!.shouldExit(ctx) === true;
        result = any ? result || d : result && d;
      }
      return result;
    },
    onFrameEnd(result: FrameResult): void {
      for (let i = 0; i < n; i++) list[i]!.onFrameEnd?.(result);
    },
    reset(): void {
      for (let i = 0; i < n; i++) list[i]!.reset?.();
    },
  };
}

/**
 * Stops when any member policy says stop. Members all see every exit and
 * every frame end; `reset` resets them all.
 *
 * @example
 * ```ts
 * const policy = anyOf(thresholdPolicy({ manifest }), latencyBudgetPolicy({ targetMs: 20, manifest }));
 * ```
 */
export function anyOf(...policies: ExitPolicy[]): ExitPolicy {
  return composite('anyOf', checkPolicies(policies, 'anyOf'));
}

/**
 * Stops only when every member policy says stop. Members all see every exit
 * and every frame end; `reset` resets them all.
 *
 * @example
 * ```ts
 * const policy = allOf(thresholdPolicy({ manifest }), temporalConsistencyPolicy());
 * ```
 */
export function allOf(...policies: ExitPolicy[]): ExitPolicy {
  return composite('allOf', checkPolicies(policies, 'allOf'));
}
