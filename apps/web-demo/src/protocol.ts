/**
 * Messages between the page (main thread) and the tracker worker, and the
 * shapes the page publishes for tests on `window.__dytrack`. Everything here is
 * structured-clonable: plain objects, numbers, strings and typed arrays.
 */
import type { Box, PixelFormat } from '@dytrack/core';

/**
 * An exit policy as the page describes it: data, not an object, so it can
 * cross to the worker, which builds the real {@link ExitPolicy} from it.
 */
export type PolicySpec =
  /** The DyTrack rule: stop at exit k when its terminating score reaches `thresholds[k]`. */
  | { readonly kind: 'threshold'; readonly thresholds: readonly number[] }
  /** Always stop at exit `exit` (a fixed-depth baseline: no early-exit decision). */
  | { readonly kind: 'fixed-depth'; readonly exit: number }
  /** Stop at the first exit whose score-map peak reaches `threshold`. */
  | { readonly kind: 'confidence'; readonly threshold: number }
  /** Adapt the thresholds online to hold `targetMs` per frame. */
  | { readonly kind: 'latency-budget'; readonly targetMs: number; readonly thresholds: readonly number[] };

/** Which onnxruntime-web execution provider to use; `'auto'` picks WebGPU when the browser has an adapter. */
export type BackendChoice = 'auto' | 'wasm' | 'webgpu';

/** One frame sent to the worker. `data` is transferred, not copied. */
export interface FramePayload {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
  readonly format: PixelFormat;
}

/** What the worker found when it started onnxruntime-web and loaded the model. */
export interface RuntimeInfo {
  /** Execution providers asked for, in order. */
  readonly executionProviders: readonly string[];
  /** wasm threads asked for (1 unless the page is cross-origin isolated). */
  readonly threads: number;
  /** `crossOriginIsolated` as the worker sees it (threads need it). */
  readonly crossOriginIsolated: boolean;
  /** The model's manifest name and variant. */
  readonly modelName: string;
  readonly modelVariant: string;
  /** Number of exits (stages) of the model. */
  readonly exitCount: number;
  /** The manifest's default threshold of each exit. */
  readonly defaultThresholds: readonly number[];
  /** Milliseconds to create the backend, fetch and load every stage. */
  readonly loadMs: number;
}

/** The per-frame result the worker sends back: a {@link FrameResult} trimmed to what the page shows. */
export interface FrameReport {
  /** 1 for the first frame after init. */
  readonly frameIndex: number;
  readonly box: Box;
  readonly lost: boolean;
  readonly confidence: number;
  readonly terminatingScore: number;
  /** Exit taken (0-based). */
  readonly exitIndex: number;
  /** Stages run (`exitIndex + 1`). */
  readonly stagesRun: number;
  /** The whole `tracker.update` call, in ms. */
  readonly totalMs: number;
  /** Backend runs alone, in ms. */
  readonly inferenceMs: number;
  /** Name of the exit policy that decided this frame. */
  readonly policy: string;
}

/** Page to worker. */
export type ToWorker =
  | { readonly type: 'load'; readonly modelUrl: string; readonly wasmPaths: string; readonly backend: BackendChoice }
  | { readonly type: 'init'; readonly frame: FramePayload; readonly box: Box; readonly policy: PolicySpec }
  | { readonly type: 'track'; readonly frame: FramePayload }
  | { readonly type: 'policy'; readonly policy: PolicySpec };

/** Worker to page. */
export type FromWorker =
  | { readonly type: 'progress'; readonly text: string }
  | { readonly type: 'loaded'; readonly runtime: RuntimeInfo }
  | { readonly type: 'initialized'; readonly policy: string; readonly ms: number }
  | { readonly type: 'result'; readonly report: FrameReport }
  | { readonly type: 'policy-set'; readonly policy: string }
  | { readonly type: 'error'; readonly during: ToWorker['type']; readonly message: string };

/** A tracked frame as the page records it (and exposes to tests). */
export interface FrameRecord extends FrameReport {
  /** IoU with the built-in sample's truth (pytracking's inclusive convention); undefined for other sources. */
  readonly iou: number | undefined;
}

/** Where the page is in its life. */
export type DemoPhase = 'loading' | 'ready' | 'awaiting-box' | 'tracking' | 'done' | 'error';

/** The test hooks the page publishes as `window.__dytrack`. */
export interface DemoHooks {
  phase: DemoPhase;
  /** The runtime the worker started, once loaded. */
  runtime: RuntimeInfo | undefined;
  /** What the built-in model is (from the build's `demo.json`). */
  model: DemoManifest['model'] | undefined;
  /** Current source: `'sample'`, `'file'` or `'camera'`. */
  source: 'sample' | 'file' | 'camera' | undefined;
  /** Truth boxes of the built-in sample (frame 0 first); undefined for other sources. */
  truth: readonly Box[] | undefined;
  /** The box the user drew (frame pixels), as sent to `tracker.init`. */
  initBox: Box | undefined;
  /** Every frame tracked since the box was drawn, in order. */
  results: FrameRecord[];
  /** Mean stages per frame under the policy in force (since it was set). */
  meanStages: number;
  /** Name of the policy in force. */
  policy: string | undefined;
  /** The message shown to the user, if any. */
  message: string | undefined;
}

/** Built-in sample description, written at build time to `demo.json`. */
export interface SampleInfo {
  readonly width: number;
  readonly height: number;
  readonly length: number;
  readonly seed: number;
  /** Path of the raw RGB frames (`length * width * height * 3` bytes), relative to the app. */
  readonly frames: string;
  /** One truth box per frame. */
  readonly truth: readonly Box[];
}

/** `demo.json`: what the build put next to the app. */
export interface DemoManifest {
  readonly model: {
    /** Path of the model directory (with `dytrack.model.json`), relative to the app. */
    readonly path: string;
    /** True for a trained model (the shipped default or a user's); false for the random-init development model. */
    readonly trained: boolean;
    /** Where it came from, for the page's footer. */
    readonly origin: string;
  };
  /** Path of onnxruntime-web's wasm files, relative to the app. */
  readonly ortPath: string;
  readonly sample: SampleInfo;
}

/**
 * IoU of a prediction `a` with a truth `b` in pytracking's inclusive-pixel
 * convention (DESIGN 6: `br = xy + wh - 1`); -1 when the truth has no area.
 */
export function iouInclusive(a: Box, b: Box): number {
  if (!(b.width > 0 && b.height > 0)) return -1;
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width - 1, b.x + b.width - 1);
  const y2 = Math.min(a.y + a.height - 1, b.y + b.height - 1);
  const inter = Math.max(x2 - x1 + 1, 0) * Math.max(y2 - y1 + 1, 0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
