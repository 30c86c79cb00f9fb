/**
 * `@dytrack/core`: the contracts every DyTrack package shares. Types, the model
 * manifest and its parser, and errors; no runtime dependency.
 *
 * @packageDocumentation
 */
export type { DyTrackErrorCode } from './errors.js';
export {
  DyTrackError,
  InvalidArgumentError,
  InvalidFrameError,
  InvalidBoxError,
  ManifestError,
  ModelMismatchError,
  BackendError,
  InvalidStateError,
  DisposedError,
  describeValue,
} from './errors.js';

export type { PixelFormat, ImageFrame, Box } from './frame.js';
export { CHANNELS, frameFormat, assertValidFrame, assertValidBox, assertBoxInFrame } from './frame.js';

export type { TensorDType, TensorDataMap, TensorData, HostTensor, TensorLocation, BackendTensor, TensorValue } from './tensor.js';
export { elementCount, isBackendTensor } from './tensor.js';

export type { TensorShape, TensorInfo, ModelSourceKind, BackendCapabilities, RunOptions, LoadModelOptions, InferenceSession, InferenceBackend } from './backend.js';

export type { ExitContext, ExitPolicy } from './policy.js';
export type { FeatureRecycler } from './recycler.js';
export type { FrameTimings, ExitTrace, FrameResult, Tracker } from './tracker.js';

export type { ManifestDType, InputSource, InputSpec, OutputRole, OutputSpec, GraphSpec, StageSpec, CropSpec, ModelManifest } from './manifest.js';
export { MANIFEST_FORMAT, MANIFEST_VERSION, MANIFEST_FILE_NAME, OUTPUT_ROLES, parseManifest, outputByRole } from './manifest.js';
export { manifestJsonSchema } from './manifest-schema.js';

export type { ModelSource } from './model-source.js';
export { sha256Hex, verifySha256, inMemoryModel } from './model-source.js';
