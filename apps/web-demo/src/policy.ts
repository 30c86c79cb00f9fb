import { InvalidArgumentError, type ExitPolicy } from '@dytrack/core';
import { confidencePolicy, fixedDepthPolicy, latencyBudgetPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import type { PolicySpec } from './protocol.js';

/**
 * Builds the exit policy a {@link PolicySpec} describes. The page sends specs
 * (plain data) and the worker builds policies, because a policy is an object
 * with methods and cannot cross `postMessage`.
 */
export function createPolicy(spec: PolicySpec): ExitPolicy {
  switch (spec.kind) {
    case 'threshold':
      return thresholdPolicy({ thresholds: spec.thresholds });
    case 'fixed-depth':
      return fixedDepthPolicy({ exit: spec.exit });
    case 'confidence':
      return confidencePolicy({ threshold: spec.threshold });
    case 'latency-budget':
      return latencyBudgetPolicy({ targetMs: spec.targetMs, thresholds: spec.thresholds });
    default:
      throw new InvalidArgumentError(`unknown exit policy kind ${JSON.stringify((spec as { kind?: unknown }).kind)}`);
  }
}
