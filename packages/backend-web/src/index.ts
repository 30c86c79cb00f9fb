/**
 * `@dytrack/backend-web`: DyTrack's `InferenceBackend` on onnxruntime-web
 * (WebAssembly under Node and in browsers; WebGPU where the browser has it).
 * This is the only package that imports onnxruntime-web.
 *
 * @packageDocumentation
 */
export { createWebBackend } from './web-backend.js';
export type {
  WebBackend,
  WebBackendOptions,
  WebBackendCapabilities,
  WebExecutionProvider,
  WebGraphOptimizationLevel,
  WasmPaths,
  WebModelSourceKind,
} from './web-backend.js';
