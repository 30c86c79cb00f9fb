import type { BackendTensor, TensorDType, TensorValue } from './tensor.js';

/** Shape of a model input or output; strings are symbolic dimensions. */
export type TensorShape = readonly (number | string)[];

/** Declared input or output of a loaded model. */
export interface TensorInfo {
  readonly name: string;
  readonly dtype: TensorDType;
  /** Declared shape, when the model declares one. */
  readonly shape: TensorShape | undefined;
}

/**
 * A form of model source that {@link InferenceBackend.loadModel} can take: `'bytes'`
 * (a `Uint8Array` of ONNX bytes), `'path'` (a file path string) or `'url'` (a URL string).
 */
export type ModelSourceKind = 'bytes' | 'path' | 'url';

/** What a backend can do on the machine it runs on. */
export interface BackendCapabilities {
  /** Execution providers in use, in order of preference (`'cpu'`, `'wasm'`, `'webgpu'`, ...). */
  readonly executionProviders: readonly string[];
  /** True when outputs can stay on the device between runs. */
  readonly deviceTensors: boolean;
  /** Element types the backend can run. */
  readonly dtypes: readonly TensorDType[];
  /** Intra-op threads in use, when known. */
  readonly threads: number | undefined;
  /**
   * Which forms of {@link InferenceBackend.loadModel}'s source this backend accepts: a
   * string source is a path where `'path'` is listed and a URL where `'url'` is.
   */
  readonly modelSources: readonly ModelSourceKind[];
}

/** Options for one run. */
export interface RunOptions {
  /** Outputs to compute; all outputs when omitted. */
  readonly outputs?: readonly string[];
  /** Keep these outputs on the device when the backend can. */
  readonly keepOnDevice?: readonly string[];
}

/** Options for loading a model. */
export interface LoadModelOptions {
  /** A name for error messages (the file name, typically). */
  readonly name?: string;
}

/**
 * A loaded ONNX model. `run` may be called concurrently; each call gets its own outputs.
 * After `release`, `run` rejects with a {@link DisposedError}; releasing twice is harmless.
 */
export interface InferenceSession {
  readonly name: string;
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /**
   * Runs the model. Feed names must match the model's inputs exactly (missing
   * or extra names reject with a {@link BackendError} naming them).
   */
  run(feeds: Readonly<Record<string, TensorValue>>, options?: RunOptions): Promise<Record<string, BackendTensor>>;
  /** Frees the session. */
  release(): Promise<void>;
}

/**
 * A runtime that loads and runs ONNX models: the seam between DyTrack and
 * onnxruntime-node, onnxruntime-web or anything else.
 */
export interface InferenceBackend {
  readonly specificationVersion: 'v1';
  /** Short name (`'onnxruntime-node'`). */
  readonly name: string;
  readonly capabilities: BackendCapabilities;
  /** Loads a model from its bytes or from a path/URL the backend understands. */
  loadModel(source: Uint8Array | string, options?: LoadModelOptions): Promise<InferenceSession>;
  /** Releases every session this backend loaded. */
  dispose(): Promise<void>;
}
