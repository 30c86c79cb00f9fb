/**
 * `@dytrack/tensor`: DyTrack's pre- and post-processing, reproducing OSTrack's
 * exactly (DESIGN 4). Frames in RGB, RGBA or BGR; crop windows with OSTrack's
 * rounding and padding; bilinear resize with OpenCV's `INTER_LINEAR` convention;
 * normalisation to NCHW float32; the Hann window; center-head decoding; mapping
 * back to the frame and clipping; box helpers. Every per-frame function has a
 * form that writes into caller buffers.
 *
 * @packageDocumentation
 */
export type { MutableBox, CenterBox, MutableCenterBox, CornerBox, MutableCornerBox } from './box.js';
export { createBox, copyBox, toCenterBox, fromCenterBox, toCornerBox, fromCornerBox, iou, scaleBox, scaleBoxAboutCenter } from './box.js';

export type { PixelLayout } from './frame.js';
export { pixelLayout, readPixelRgb, frameToRgb } from './frame.js';

export type { Normalization } from './normalize.js';
export { IMAGENET_NORMALIZATION, normalizeToNCHW } from './normalize.js';

export type { CropWindow, FrameSize, ResampleMode, CropOptions, CroppedImage, Cropper } from './crop.js';
export { createCropWindow, roundHalfToEven, computeCropWindow, createCropper, cropAndResize, cropResizeNormalize } from './crop.js';

export type { DecodedBox, CropRelativeBox } from './head.js';
export { hannWindow1d, hannWindow2d, createDecodedBox, decodeCenterHead, mapBoxBack, clipBox } from './head.js';
