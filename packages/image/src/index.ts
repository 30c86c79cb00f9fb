/**
 * `@dytrack/image`: the JPEG and PNG codecs of DyTrack, written once.
 *
 * - {@link sniffImageType} and {@link probeImage} recognise an image and read
 *   its size from the header without decoding, so oversize images are refused
 *   cheaply;
 * - {@link decodeImage} (to `'rgb'`) and {@link decodePngRgba} (to `'rgba'`)
 *   decode, with errors ({@link ImageDecodeError}, an `InvalidFrameError`)
 *   naming the file and the problem;
 * - {@link encodePng} and {@link encodeJpeg} encode any frame format.
 *
 * Nothing here touches the file system; `readImageFile` lives in the
 * Node-only subpath `@dytrack/image/node`.
 *
 * @module
 */
export { ImageDecodeError, type ImageProblem } from './errors.js';
export { sniffImageType, probeImage, type ImageType, type ImageInfo, type ProbeImageOptions } from './probe.js';
export { decodeImage, decodePngRgba, type DecodeImageOptions } from './decode.js';
export { encodePng, encodeJpeg } from './encode.js';
