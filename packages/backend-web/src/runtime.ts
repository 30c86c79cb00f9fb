import { bindOrtRuntime } from '@dytrack/ort-common';
import { InferenceSession, Tensor } from 'onnxruntime-web';

/** The shared ORT implementation (@dytrack/ort-common) on onnxruntime-web. */
export const { createLoader, prepareFeeds, ortTensorOf } = bindOrtRuntime({ InferenceSession, Tensor });
