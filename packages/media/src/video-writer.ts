import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { DyTrackError, InvalidArgumentError, InvalidFrameError } from '@dytrack/core';
import type { RgbImage } from './annotate.js';
import type { FfmpegOptions } from './frame-source.js';

/** Writes RGB frames into a video file through ffmpeg (H.264 in the container the file name says). */
export interface VideoWriter {
  /** Appends a frame; must have the writer's size. Waits when ffmpeg is behind. */
  write(image: RgbImage): Promise<void>;
  /** Finishes the file; rejects with ffmpeg's message if encoding failed. */
  close(): Promise<void>;
}

/** Starts an ffmpeg process that encodes frames of `width` x `height` at `fps` into `path`. */
export function createVideoWriter(path: string, width: number, height: number, fps = 30, options: FfmpegOptions = {}): VideoWriter {
  if (!(fps > 0)) throw new InvalidArgumentError(`fps must be positive, got ${fps}`);
  const child = spawn(
    options.ffmpeg ?? 'ffmpeg',
    ['-y', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0',
      '-vf', 'pad=ceil(iw/2)*2:ceil(ih/2)*2', '-pix_fmt', 'yuv420p', path],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  let failure: Error | undefined;
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', (e: NodeJS.ErrnoException) => {
    failure = e.code === 'ENOENT' ? new DyTrackError('UNSUPPORTED', 'ffmpeg is not installed or not on the PATH; install it (Debian/Ubuntu: `apt-get install ffmpeg`) to write videos, or write frames instead') : e;
  });
  child.stdin.on('error', () => {
    // EPIPE when ffmpeg dies early: reported by close() with ffmpeg's own message.
  });
  const closed = once(child, 'close') as Promise<[number | null]>;
  return {
    async write(image: RgbImage): Promise<void> {
      if (failure) throw failure;
      if (image.width !== width || image.height !== height) {
        throw new InvalidFrameError(`video frames must be ${width}x${height}, got ${image.width}x${image.height}`);
      }
      if (!child.stdin.write(image.data)) await Promise.race([once(child.stdin, 'drain'), closed]);
    },
    async close(): Promise<void> {
      child.stdin.end();
      const [code] = await closed;
      if (failure) throw failure;
      if (code !== 0) throw new DyTrackError('BACKEND_ERROR', `ffmpeg could not write ${path}: ${stderr.trim() || `exit code ${String(code)}`}`);
    },
  };
}
