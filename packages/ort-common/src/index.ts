/**
 * `@dytrack/ort-common`: the ONNX Runtime implementation of DyTrack's
 * {@link @dytrack/core!InferenceBackend} that `@dytrack/backend-node` and
 * `@dytrack/backend-web` share: dtype mapping, tensor wrapping, feed validation,
 * sessions and model loading. It is written against `onnxruntime-common`'s types
 * and imports no runtime: each backend passes its runtime's `Tensor` and
 * `InferenceSession` in (see {@link bindOrtRuntime}).
 *
 * @packageDocumentation
 */
export type { OrtRuntime } from './runtime.js';
export { bindOrtRuntime } from './bind.js';
export type { BoundOrtRuntime } from './bind.js';
export { ALL_DTYPES, isTensorDType, hasStorageOf, storageName, describeData, formatShape } from './dtypes.js';
export { OrtBackendTensor, ortTensorOf } from './tensor.js';
export { tensorInfoFrom, prepareFeeds, messageOf } from './feeds.js';
export { OrtInferenceSession } from './session.js';
export type { SessionBehaviour } from './session.js';
export { createOrtSession, createOrtLoader } from './loader.js';
export type { StringSourceRules, LoadPlan, OrtLoaderOptions, OrtLoader } from './loader.js';
