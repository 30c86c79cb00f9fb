/**
 * `@dytrack/exit-policies`: when to stop a frame early (DESIGN 5). A policy is
 * a plain object implementing `ExitPolicy` from `@dytrack/core`; these are the
 * built-ins and their composition.
 *
 * @packageDocumentation
 */
export type { ThresholdPolicy, ThresholdPolicyOptions } from './threshold.js';
export { thresholdPolicy } from './threshold.js';
export type { ConfidencePolicyOptions } from './confidence.js';
export { confidencePolicy } from './confidence.js';
export type { FixedDepthPolicyOptions } from './fixed-depth.js';
export { fixedDepthPolicy } from './fixed-depth.js';
export type { LatencyBudgetPolicy, LatencyBudgetPolicyOptions } from './latency-budget.js';
export { latencyBudgetPolicy } from './latency-budget.js';
export type { TemporalConsistencyPolicy, TemporalConsistencyPolicyOptions } from './temporal-consistency.js';
export { temporalConsistencyPolicy } from './temporal-consistency.js';
export { anyOf, allOf } from './compose.js';
export { policyFromSpec } from './spec.js';
export type { PolicySpec, PolicyInfo, PolicyParameterInfo } from './json.js';
export { policyFromJson, POLICY_CATALOG } from './json.js';
