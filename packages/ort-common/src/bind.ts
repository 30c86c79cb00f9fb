import type { TensorInfo, TensorValue } from '@dytrack/core';
import type { Tensor as OrtTensor } from 'onnxruntime-common';
import { prepareFeeds } from './feeds.js';
import { createOrtLoader } from './loader.js';
import type { OrtLoader, OrtLoaderOptions } from './loader.js';
import type { OrtRuntime } from './runtime.js';
import { ortTensorOf } from './tensor.js';

/** The runtime-dependent functions of this package with the runtime filled in. */
export interface BoundOrtRuntime {
  /** The runtime itself. */
  readonly runtime: OrtRuntime;
  /** {@link prepareFeeds} on this runtime. */
  prepareFeeds(
    modelName: string,
    inputs: readonly TensorInfo[],
    feeds: Readonly<Record<string, TensorValue>>,
    copyHostData?: boolean,
  ): Record<string, OrtTensor>;
  /** {@link ortTensorOf} on this runtime. */
  ortTensorOf(value: unknown): OrtTensor | 'disposed' | undefined;
  /** {@link createOrtLoader} on this runtime. */
  createLoader(options: OrtLoaderOptions): OrtLoader;
}

/**
 * Binds the shared implementation to one runtime, once per backend package:
 * `export const { createLoader } = bindOrtRuntime({ InferenceSession, Tensor })`
 * with the two imported from `onnxruntime-node` or `onnxruntime-web`.
 */
export function bindOrtRuntime(runtime: OrtRuntime): BoundOrtRuntime {
  return Object.freeze({
    runtime,
    prepareFeeds: (modelName: string, inputs: readonly TensorInfo[], feeds: Readonly<Record<string, TensorValue>>, copyHostData = false) =>
      prepareFeeds(runtime, modelName, inputs, feeds, copyHostData),
    ortTensorOf: (value: unknown) => ortTensorOf(runtime, value),
    createLoader: (options: OrtLoaderOptions) => createOrtLoader(runtime, options),
  });
}
