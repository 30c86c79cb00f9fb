/**
 * `@dytrack/media`: frames in and out of files. Read a folder of frames or a
 * video (through ffmpeg) one frame at a time; draw boxes and labels; lay
 * frames out as a strip; write an annotated video.
 *
 * @packageDocumentation
 */
export type { FrameEntry, FrameSource, FfmpegOptions } from './frame-source.js';
export { listImageFiles, openImageFolder, probeVideo, openVideo, openFrameSource } from './frame-source.js';

export type { Rgb, RgbImage, StripOptions } from './annotate.js';
export { createRgbImage, toRgbImage, fillRect, drawBox, drawText, resizeRgb, composeStrip } from './annotate.js';
export { glyph, textWidth } from './font.js';

export type { VideoWriter } from './video-writer.js';
export { createVideoWriter } from './video-writer.js';
