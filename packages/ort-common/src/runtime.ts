import type { InferenceSessionFactory, TensorConstructor } from 'onnxruntime-common';

/**
 * The part of an onnxruntime module that the shared implementation uses: its
 * `Tensor` class and its `InferenceSession.create`. Pass the module's own exports
 * (`import { InferenceSession, Tensor } from 'onnxruntime-node'`), so that tensors
 * are made by, and recognised as, that runtime's class: onnxruntime-web bundles
 * its own copy of onnxruntime-common, so the classes of two runtimes differ.
 */
export interface OrtRuntime {
  /** The runtime's tensor class (`ort.Tensor`). */
  readonly Tensor: TensorConstructor;
  /** The runtime's session factory (`ort.InferenceSession`); only `create` is used. */
  readonly InferenceSession: Pick<InferenceSessionFactory, 'create'>;
}
