/**
 * Frame sources of the demo: the built-in sample, a video file and the camera.
 * Each draws its current frame onto the view canvas and hands the pixels over
 * as an `ImageData` (RGBA, what the tracker accepts as it is).
 */
import type { Box } from '@dytrack/core';
import type { SampleInfo } from './protocol.js';

/** Longest side of the frames the tracker gets from videos and cameras (larger ones are scaled down). */
export const MAX_TRACKING_SIDE = 640;

/** A source of frames for the page. */
export interface FrameSource {
  readonly kind: 'sample' | 'file' | 'camera';
  readonly width: number;
  readonly height: number;
  /** Truth boxes, one per frame, when the source has them (the sample). */
  readonly truth: readonly Box[] | undefined;
  /** Draws the frame to show while the user draws the box and returns it. */
  firstFrame(ctx: CanvasRenderingContext2D): ImageData;
  /** Starts playback after the tracker is initialised. */
  start(speed: number): void;
  /** Draws the next frame to track and returns it, or undefined when the source has ended. */
  nextFrame(ctx: CanvasRenderingContext2D): ImageData | undefined;
  /** Milliseconds to wait before asking for the next frame (pacing); 0 for live sources. */
  readonly frameIntervalMs: number;
  /** Draws live frames (camera preview) while waiting for the box; no-op for other sources. */
  preview(ctx: CanvasRenderingContext2D): void;
  /** Stops playback and releases what the source holds (camera tracks, object URLs). */
  close(): void;
}

/** Copies raw RGB pixels into an RGBA ImageData. */
function rgbToImageData(rgb: Uint8Array, width: number, height: number): ImageData {
  const image = new ImageData(width, height);
  const out = image.data;
  for (let i = 0, j = 0; i < rgb.length; i += 3, j += 4) {
    out[j] = rgb[i]!;
    out[j + 1] = rgb[i + 1]!;
    out[j + 2] = rgb[i + 2]!;
    out[j + 3] = 255;
  }
  return image;
}

/** The built-in sample: raw RGB frames generated at build time by `@dytrack/eval`'s procedural generator. */
export function sampleSource(info: SampleInfo, frames: Uint8Array): FrameSource {
  const frameBytes = info.width * info.height * 3;
  if (frames.byteLength !== frameBytes * info.length) {
    throw new Error(`the sample has ${frames.byteLength} bytes but ${info.length} frames of ${info.width}x${info.height} need ${frameBytes * info.length}`);
  }
  let index = 0;
  let intervalMs = 1000 / 15;
  const frame = (i: number, ctx: CanvasRenderingContext2D): ImageData => {
    const image = rgbToImageData(frames.subarray(i * frameBytes, (i + 1) * frameBytes), info.width, info.height);
    ctx.putImageData(image, 0, 0);
    return image;
  };
  return {
    kind: 'sample',
    width: info.width,
    height: info.height,
    truth: info.truth,
    firstFrame(ctx) {
      index = 0;
      return frame(0, ctx);
    },
    start(speed) {
      intervalMs = speed > 0 ? 1000 / speed : 0;
    },
    nextFrame(ctx) {
      index++;
      return index < info.length ? frame(index, ctx) : undefined;
    },
    get frameIntervalMs() {
      return intervalMs;
    },
    preview() {},
    close() {},
  };
}

function scaledSize(video: HTMLVideoElement): { width: number; height: number } {
  const scale = Math.min(1, MAX_TRACKING_SIDE / Math.max(video.videoWidth, video.videoHeight));
  return { width: Math.max(1, Math.round(video.videoWidth * scale)), height: Math.max(1, Math.round(video.videoHeight * scale)) };
}

function grab(video: HTMLVideoElement, ctx: CanvasRenderingContext2D, width: number, height: number): ImageData {
  ctx.drawImage(video, 0, 0, width, height);
  return ctx.getImageData(0, 0, width, height);
}

/** Thrown (as a rejection) when a file or camera cannot be used; its message is for the user. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

function waitFor(video: HTMLVideoElement, event: 'loadeddata' | 'seeked', what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      video.removeEventListener(event, ok);
      video.removeEventListener('error', fail);
    };
    const ok = () => {
      done();
      resolve();
    };
    const fail = () => {
      done();
      const code = video.error?.code;
      reject(new SourceError(`${what} could not be decoded as a video${code === 4 ? ' (format not supported by this browser)' : ''}. Try an MP4 (H.264) or WebM file.`));
    };
    video.addEventListener(event, ok);
    video.addEventListener('error', fail);
  });
}

/**
 * A video file chosen by the user. Rejects with a {@link SourceError} for a file
 * that is not a video or that the browser cannot decode.
 */
export async function fileSource(file: File, video: HTMLVideoElement): Promise<FrameSource> {
  if (!file.type.startsWith('video/')) {
    throw new SourceError(`“${file.name}” is not a video file (${file.type || 'unknown type'}). Choose a video such as MP4 or WebM.`);
  }
  const url = URL.createObjectURL(file);
  video.srcObject = null;
  video.src = url;
  video.loop = false;
  try {
    await waitFor(video, 'loadeddata', `“${file.name}”`);
    if (video.videoWidth === 0 || video.videoHeight === 0) throw new SourceError(`“${file.name}” has no video track.`);
    video.pause();
    if (video.currentTime !== 0) {
      video.currentTime = 0;
      await waitFor(video, 'seeked', `“${file.name}”`);
    }
  } catch (e) {
    URL.revokeObjectURL(url);
    video.removeAttribute('src');
    throw e;
  }
  const { width, height } = scaledSize(video);
  return {
    kind: 'file',
    width,
    height,
    truth: undefined,
    firstFrame: (ctx) => grab(video, ctx, width, height),
    start(speed) {
      video.playbackRate = speed > 0 && speed < 15 ? 0.5 : 1;
      void video.play();
    },
    nextFrame: (ctx) => (video.ended ? undefined : grab(video, ctx, width, height)),
    frameIntervalMs: 0,
    preview() {},
    close() {
      video.pause();
      video.removeAttribute('src');
      video.load();
      URL.revokeObjectURL(url);
    },
  };
}

/** Explains a `getUserMedia` failure to the user. */
export function cameraErrorMessage(error: unknown): string {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return 'Camera access was denied. Allow the camera for this site in the browser settings, or use the built-in sample or a video file.';
    case 'NotFoundError':
    case 'OverconstrainedError':
      return 'No camera was found. Connect one, or use the built-in sample or a video file.';
    case 'NotReadableError':
    case 'AbortError':
      return 'The camera could not be started (another application may be using it). Use the built-in sample or a video file.';
    default:
      return `The camera could not be opened${error instanceof Error && error.message ? `: ${error.message}` : ''}. Use the built-in sample or a video file.`;
  }
}

/** The user's camera. Rejects with a {@link SourceError} carrying a readable message when it cannot be opened. */
export async function cameraSource(video: HTMLVideoElement): Promise<FrameSource> {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new SourceError('This browser gives no camera access here (the page must be served over HTTPS or from localhost).');
  }
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
  } catch (e) {
    throw new SourceError(cameraErrorMessage(e));
  }
  video.removeAttribute('src');
  video.srcObject = stream;
  try {
    const loaded = waitFor(video, 'loadeddata', 'The camera stream');
    await video.play();
    await loaded;
  } catch (e) {
    for (const track of stream.getTracks()) track.stop();
    throw e instanceof SourceError ? e : new SourceError(cameraErrorMessage(e));
  }
  const { width, height } = scaledSize(video);
  return {
    kind: 'camera',
    width,
    height,
    truth: undefined,
    firstFrame: (ctx) => grab(video, ctx, width, height),
    start() {},
    nextFrame: (ctx) => grab(video, ctx, width, height),
    frameIntervalMs: 0,
    preview(ctx) {
      ctx.drawImage(video, 0, 0, width, height);
    },
    close() {
      for (const track of stream.getTracks()) track.stop();
      video.srcObject = null;
    },
  };
}
