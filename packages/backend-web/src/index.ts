/**
 * `@dytrack/backend-web`: DyTrack's `InferenceBackend` on onnxruntime-web
 * (WebAssembly under Node and in browsers; WebGPU where the browser has it).
 * This is the only package that imports onnxruntime-web; the implementation it
 * shares with `@dytrack/backend-node` lives in `@dytrack/ort-common`.
 *
 * @packageDocumentation
 */
export { createWebBackend } from './web-backend.js';
export type { WebBackend, WebBackendOptions, WebBackendCapabilities, WebExecutionProvider, WebGraphOptimizationLevel, WasmPaths } from './web-backend.js';
export type { ModelSourceKind, ModelSourceKind as WebModelSourceKind } from '@dytrack/core';
