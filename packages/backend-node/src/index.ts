/**
 * `@dytrack/backend-node`: DyTrack's {@link @dytrack/core!InferenceBackend} on
 * onnxruntime-node, the native ONNX Runtime for Node.js. This is the only package
 * that imports onnxruntime-node; the implementation it shares with
 * `@dytrack/backend-web` lives in `@dytrack/ort-common`.
 *
 * @packageDocumentation
 */
export { createNodeBackend } from './node-backend.js';
export type { NodeBackend, NodeBackendOptions, NodeBackendCapabilities, NodeExecutionProvider, GraphOptimizationLevel } from './node-backend.js';
export type { ModelSourceKind } from '@dytrack/core';
