import type { ModelManifest } from './manifest.js';
import type { BackendTensor, HostTensor, TensorValue } from './tensor.js';

/**
 * Owns the tensors that flow between stages within a frame and across frames
 * (DESIGN 3.3): it builds each stage's feeds from the images and earlier
 * outputs, keeps what later stages need and releases everything else.
 */
export interface FeatureRecycler {
  readonly specificationVersion: 'v1';
  readonly name: string;
  /** Prepares for a model; called once before `setTemplate`. */
  attach(manifest: ModelManifest): void;
  /**
   * Stores the across-frame template state: the template image and, for a
   * template-cache model, the template encoder's outputs. Replaces (and
   * releases) any previous template state.
   */
  setTemplate(templateImage: HostTensor, encoderOutputs?: Readonly<Record<string, BackendTensor>>): void;
  /** Releases the template state (the tracker's `reset`); `setTemplate` must come before the next frame. */
  clearTemplate(): void;
  /** Starts a frame with its preprocessed search image. */
  beginFrame(searchImage: HostTensor): void;
  /** Feeds of stage `stageIndex`, built from the images and earlier outputs. */
  feedsFor(stageIndex: number): Record<string, TensorValue>;
  /** Hands over a stage's outputs; the recycler keeps what later stages need. */
  collect(stageIndex: number, outputs: Readonly<Record<string, BackendTensor>>): void;
  /** Ends the frame: releases every within-frame tensor. */
  endFrame(): void;
  /** Releases everything, including the template state. */
  dispose(): void;
}
