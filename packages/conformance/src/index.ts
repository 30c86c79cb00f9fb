/**
 * `@dytrack/conformance`: the vitest suites every DyTrack backend (and exit
 * policy) runs, so that all implementations of a contract behave alike.
 *
 * @packageDocumentation
 */
export { describeBackendConformance } from './backend-suite.js';
export type { BackendConformanceOptions, BackendFactory } from './backend-suite.js';
export { buildModel } from './onnx-models.js';
export type { ModelSpec, ValueSpec, NodeSpec, InitializerSpec } from './onnx-models.js';
export { MLP_BLOCK, mlpBlockModel, mlpBlockInput, alternatingMedians } from './latency.js';
export { describePolicyConformance, type PolicyConformanceOptions } from './policy-suite.js';
