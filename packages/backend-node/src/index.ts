/**
 * `@dytrack/backend-node`: DyTrack's {@link @dytrack/core!InferenceBackend} on
 * onnxruntime-node, the native ONNX Runtime for Node.js. This is the only package
 * that imports onnxruntime-node.
 *
 * @packageDocumentation
 */
export { createNodeBackend } from './node-backend.js';
export type {
  NodeBackend,
  NodeBackendOptions,
  NodeBackendCapabilities,
  NodeExecutionProvider,
  GraphOptimizationLevel,
  ModelSourceKind,
} from './node-backend.js';
