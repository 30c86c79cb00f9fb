import { createRequire } from 'node:module';
import { BackendError, CHANNELS, frameFormat, InvalidStateError, type Box, type ImageFrame } from '@dytrack/core';
import type { TrackerEntry, TrackerLike, TrackerStep } from './harness.js';

/** An OpenCV.js `cv.Mat`, as far as the peers use it (WebAssembly memory: call `delete`). */
export interface OpenCvMat {
  /** The pixels, a view into WebAssembly memory. */
  readonly data: Uint8Array;
  /** Frees the matrix. */
  delete(): void;
}
interface CvTracker {
  init(image: OpenCvMat, rect: { x: number; y: number; width: number; height: number }): void;
  update(image: OpenCvMat): [boolean, { x: number; y: number; width: number; height: number }];
  delete(): void;
}
/** The OpenCV.js module, as far as the peers use it. */
export interface OpenCvModule {
  /** 8-bit, 3-channel matrix type. */
  readonly CV_8UC3: number;
  /** 8-bit, 4-channel matrix type. */
  readonly CV_8UC4: number;
  /** `cvtColor` code RGBA to RGB. */
  readonly COLOR_RGBA2RGB: number;
  /** `cvtColor` code BGR to RGB. */
  readonly COLOR_BGR2RGB: number;
  /** `new cv.Mat(rows, cols, type)`. */
  Mat: new (rows: number, cols: number, type: number) => OpenCvMat;
  /** `new cv.Rect(x, y, width, height)`. */
  Rect: new (x: number, y: number, width: number, height: number) => { x: number; y: number; width: number; height: number };
  /** Colour conversion. */
  cvtColor(src: OpenCvMat, dst: OpenCvMat, code: number): void;
  /** OpenCV's build summary (version, modules). */
  getBuildInformation(): string;
  /** Everything else the build exports (tracker classes among them). */
  readonly [name: string]: unknown;
}

/** OpenCV trackers that a build may contain; {@link openCvTrackerKinds} tells which one has. */
export type OpenCvTrackerKind = 'MIL' | 'KCF' | 'CSRT' | 'Vit' | 'GOTURN' | 'DaSiamRPN' | 'Nano';
const ALL_KINDS: readonly OpenCvTrackerKind[] = ['MIL', 'KCF', 'CSRT', 'Vit', 'GOTURN', 'DaSiamRPN', 'Nano'];

let loading: Promise<OpenCvModule> | undefined;

/**
 * Loads OpenCV.js (`@techstark/opencv-js`, a WebAssembly build) once. Its
 * module object's Emscripten `then` method is removed (it makes the module a
 * thenable that never settles when awaited). The Emscripten runtime installs process-wide `uncaughtException` and
 * `unhandledRejection` handlers that would turn any later error into an abort
 * dump; they are removed again here.
 */
export function loadOpenCv(): Promise<OpenCvModule> {
  loading ??= new Promise<OpenCvModule>((resolve, reject) => {
    const before = {
      uncaughtException: new Set(process.listeners('uncaughtException')),
      unhandledRejection: new Set(process.listeners('unhandledRejection')),
    };
    const restore = (): void => {
      for (const l of process.listeners('uncaughtException')) if (!before.uncaughtException.has(l)) process.removeListener('uncaughtException', l);
      for (const l of process.listeners('unhandledRejection')) if (!before.unhandledRejection.has(l)) process.removeListener('unhandledRejection', l);
    };
    let mod: Record<string, unknown>;
    try {
      mod = createRequire(import.meta.url)('@techstark/opencv-js') as Record<string, unknown>;
    } catch (cause) {
      restore();
      reject(new BackendError(`cannot load @techstark/opencv-js: ${(cause as Error).message}`, { cause }));
      return;
    }
    restore();
    // Emscripten gives the module a `then` that calls back with the module itself, so
    // resolving a promise with it loops forever in the microtask queue. Drop it.
    const ready = (): void => {
      delete mod['then'];
      resolve(mod as unknown as OpenCvModule);
    };
    if (typeof mod['Mat'] === 'function') ready();
    else {
      const previous = mod['onRuntimeInitialized'] as (() => void) | undefined;
      mod['onRuntimeInitialized'] = () => {
        previous?.();
        restore();
        ready();
      };
    }
  });
  return loading;
}

/** The tracker classes present in this OpenCV.js build (the npm build has MIL only). */
export function openCvTrackerKinds(cv: OpenCvModule): OpenCvTrackerKind[] {
  return ALL_KINDS.filter((k) => typeof cv[`Tracker${k}`] === 'function');
}

/**
 * Wraps an OpenCV.js tracker (`cv.TrackerMIL`, ...) as a {@link TrackerLike}.
 * Frames are copied into one reused `Mat`; OpenCV's integer `Rect` is the box.
 */
export function createOpenCvTracker(cv: OpenCvModule, kind: OpenCvTrackerKind = 'MIL'): TrackerLike {
  const Ctor = cv[`Tracker${kind}`] as (new () => CvTracker) | undefined;
  if (typeof Ctor !== 'function') {
    throw new BackendError(`this OpenCV.js build has no Tracker${kind}; it has: ${openCvTrackerKinds(cv).join(', ') || 'none'}`);
  }
  let tracker: CvTracker | undefined;
  let rgb: OpenCvMat | undefined;
  let rgba: OpenCvMat | undefined;
  let size = '';
  const toMat = (frame: ImageFrame): OpenCvMat => {
    const key = `${frame.width}x${frame.height}`;
    if (key !== size) {
      rgb?.delete();
      rgba?.delete();
      rgb = new cv.Mat(frame.height, frame.width, cv.CV_8UC3);
      rgba = new cv.Mat(frame.height, frame.width, cv.CV_8UC4);
      size = key;
    }
    const format = frameFormat(frame);
    if (CHANNELS[format] === 4) {
      rgba!.data.set(frame.data);
      cv.cvtColor(rgba!, rgb!, cv.COLOR_RGBA2RGB);
    } else {
      rgb!.data.set(frame.data);
      if (format === 'bgr') cv.cvtColor(rgb!, rgb!, cv.COLOR_BGR2RGB);
    }
    return rgb!;
  };
  let last: Box | undefined;
  return {
    init(frame: ImageFrame, box: Box): void {
      tracker?.delete();
      tracker = new Ctor();
      const x = Math.round(box.x);
      const y = Math.round(box.y);
      const rect = new cv.Rect(x, y, Math.max(1, Math.round(box.x + box.width) - x), Math.max(1, Math.round(box.y + box.height) - y));
      tracker.init(toMat(frame), rect);
      last = box;
    },
    update(frame: ImageFrame): TrackerStep {
      if (tracker === undefined || last === undefined) throw new InvalidStateError(`OpenCV Tracker${kind}: update before init`);
      const [found, r] = tracker.update(toMat(frame));
      // OpenCV keeps its last rect when it loses the target; keep the last good box as DyTrack does.
      if (found) last = { x: r.x, y: r.y, width: r.width, height: r.height };
      return { box: last };
    },
    dispose(): void {
      tracker?.delete();
      rgb?.delete();
      rgba?.delete();
      tracker = rgb = rgba = undefined;
      size = '';
    },
  };
}

/** A {@link TrackerEntry} for an OpenCV.js tracker, named `opencv-mil` and so on. */
export async function openCvTrackerEntry(kind: OpenCvTrackerKind = 'MIL'): Promise<TrackerEntry> {
  const cv = await loadOpenCv();
  createOpenCvTracker(cv, kind).dispose?.();
  return { name: `opencv-${kind.toLowerCase()}`, create: () => createOpenCvTracker(cv, kind) };
}
