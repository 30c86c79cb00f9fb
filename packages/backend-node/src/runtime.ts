import { bindOrtRuntime } from '@dytrack/ort-common';
import { InferenceSession, Tensor } from 'onnxruntime-node';

/** The shared ORT implementation (@dytrack/ort-common) on onnxruntime-node. */
export const { createLoader, prepareFeeds, ortTensorOf } = bindOrtRuntime({ InferenceSession, Tensor });
