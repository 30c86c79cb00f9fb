import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { DyTrackError, InvalidArgumentError, InvalidFrameError, type ImageFrame } from '@dytrack/core';
import { readImageFile } from '@dytrack/image/node';

/** One frame read from a {@link FrameSource}: the decoded frame, or why it could not be read. */
export type FrameEntry =
  | { readonly index: number; readonly name: string; readonly frame: ImageFrame; readonly error?: undefined }
  | { readonly index: number; readonly name: string; readonly frame?: undefined; readonly error: DyTrackError };

/**
 * Frames read one at a time, in order. A frame that cannot be decoded is
 * yielded as an entry with `error` (naming the file), so the caller chooses
 * to stop or to skip it; nothing is held beyond the current frame.
 */
export interface FrameSource {
  /** What was opened (folder or file path). */
  readonly path: string;
  /** `'images'` for a folder of image files, `'video'` for a file decoded by ffmpeg. */
  readonly kind: 'images' | 'video';
  /** Number of frames when known up front. */
  readonly length: number | undefined;
  /** Iterates the frames from the first. */
  entries(): AsyncIterable<FrameEntry>;
}

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png']);
const collator = new Intl.Collator('en', { numeric: true });

/** Image files (JPEG, PNG) of a folder in natural order (`2.jpg` before `10.jpg`). */
export async function listImageFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(
      code === 'ENOENT' ? `no such folder: ${dir}` : code === 'ENOTDIR' ? `not a folder: ${dir}` : `cannot read folder ${dir}: ${(cause as Error).message}`,
      { cause },
    );
  }
  return names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).sort(collator.compare).map((n) => join(dir, n));
}

/** A folder of JPEG/PNG frames (an OTB sequence folder's `img/` is found by {@link openFrameSource}). */
export async function openImageFolder(dir: string): Promise<FrameSource> {
  const files = await listImageFiles(dir);
  if (files.length === 0) throw new InvalidArgumentError(`folder ${dir} has no frames (expected .jpg, .jpeg or .png files)`);
  return {
    path: dir,
    kind: 'images',
    length: files.length,
    async *entries(): AsyncIterable<FrameEntry> {
      for (let index = 0; index < files.length; index++) {
        const file = files[index]!;
        const name = basename(file);
        try {
          yield { index, name, frame: await readImageFile(file) };
        } catch (cause) {
          const error = cause instanceof DyTrackError ? cause : new InvalidFrameError(`${file}: ${(cause as Error).message}`, { cause });
          yield { index, name, error };
        }
      }
    },
  };
}

/** Where to find ffmpeg and ffprobe (default: on the PATH). */
export interface FfmpegOptions {
  readonly ffmpeg?: string;
  readonly ffprobe?: string;
}

const FFMPEG_MISSING =
  'is not installed or not on the PATH; install it (Debian/Ubuntu: `apt-get install ffmpeg`, macOS: `brew install ffmpeg`) or pass a folder of frames instead';

function run(command: string, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'ENOENT' ? new DyTrackError('UNSUPPORTED', `${command} ${FFMPEG_MISSING}`) : e),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

/** Width, height and (when the container says) frame count of a video's first video stream. */
export async function probeVideo(path: string, options: FfmpegOptions = {}): Promise<{ width: number; height: number; frames: number | undefined }> {
  const probe = await run(options.ffprobe ?? 'ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,nb_frames', '-of', 'json', path]);
  const stream = probe.code === 0 ? (JSON.parse(probe.stdout) as { streams?: { width?: number; height?: number; nb_frames?: string }[] }).streams?.[0] : undefined;
  if (!stream?.width || !stream.height) {
    throw new InvalidFrameError(`${path}: not a readable video (${probe.stderr.trim().split('\n').pop() || 'no video stream'})`);
  }
  const frames = Number(stream.nb_frames);
  return { width: stream.width, height: stream.height, frames: Number.isInteger(frames) && frames > 0 ? frames : undefined };
}

/** A video file decoded by ffmpeg into RGB frames, streamed (never held whole). */
export async function openVideo(path: string, options: FfmpegOptions = {}): Promise<FrameSource> {
  try {
    if (!(await stat(path)).isFile()) throw new InvalidArgumentError(`not a file: ${path}`);
  } catch (cause) {
    if (cause instanceof DyTrackError) throw cause;
    throw new InvalidArgumentError(`no such file: ${path}`, { cause });
  }
  const { width, height, frames } = await probeVideo(path, options);
  const frameBytes = width * height * 3;
  return {
    path,
    kind: 'video',
    length: frames,
    async *entries(): AsyncIterable<FrameEntry> {
      const child = spawn(options.ffmpeg ?? 'ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number>((resolve, reject) => {
        child.on('error', (e: NodeJS.ErrnoException) => reject(e.code === 'ENOENT' ? new DyTrackError('UNSUPPORTED', `ffmpeg ${FFMPEG_MISSING}`) : e));
        child.on('close', (code) => resolve(code ?? 1));
      });
      let index = 0;
      let buffer = new Uint8Array(frameBytes);
      let filled = 0;
      try {
        for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
          let offset = 0;
          while (offset < chunk.length) {
            const n = Math.min(frameBytes - filled, chunk.length - offset);
            buffer.set(chunk.subarray(offset, offset + n), filled);
            filled += n;
            offset += n;
            if (filled === frameBytes) {
              yield { index, name: `frame ${index + 1}`, frame: { data: buffer, width, height, format: 'rgb' } };
              index += 1;
              buffer = new Uint8Array(frameBytes);
              filled = 0;
            }
          }
        }
        const code = await exited;
        if (code !== 0) {
          yield { index, name: `frame ${index + 1}`, error: new InvalidFrameError(`${path}: ffmpeg stopped at frame ${index + 1}: ${stderr.trim() || `exit code ${code}`}`) };
        }
      } finally {
        if (child.exitCode === null) child.kill();
      }
    },
  };
}

/**
 * Opens what a user points at: a video file, a folder of frames, or a dataset
 * sequence folder whose frames are in `img/` (OTB, LaSOT).
 */
export async function openFrameSource(input: string, options: FfmpegOptions = {}): Promise<FrameSource> {
  let info;
  try {
    info = await stat(input);
  } catch (cause) {
    throw new InvalidArgumentError(`no such file or folder: ${input}`, { cause });
  }
  if (info.isFile()) return openVideo(input, options);
  const img = join(input, 'img');
  const hasImg = await stat(img).then((s) => s.isDirectory(), () => false);
  if (hasImg && (await listImageFiles(input)).length === 0) return openImageFolder(img);
  return openImageFolder(input);
}
