import type { Box, ExitContext, ExitPolicy, FrameResult } from '@dytrack/core';
import { InvalidArgumentError } from '@dytrack/core';
import { checkInteger, checkUnit } from './validate.js';

/** Options of {@link temporalConsistencyPolicy}. */
export interface TemporalConsistencyPolicyOptions {
  /** Recent frames whose boxes define the motion. Default 5; at least 2. */
  readonly history?: number;
  /** Minimum IoU between the exit's box and the motion-predicted box. Default 0.6. */
  readonly minIoU?: number;
  /** Frames of history needed before the policy may stop early. Default 2; at most `history`. */
  readonly minFrames?: number;
}

/** An `ExitPolicy` that can report the box it expects on the coming frame. */
export interface TemporalConsistencyPolicy extends ExitPolicy {
  /**
   * Writes the motion-predicted box for the next frame into `out` and returns
   * true, or returns false when there is not enough history.
   */
  predict(out: { x: number; y: number; width: number; height: number }): boolean;
}

/**
 * Stops at an exit whose box agrees with the motion of recent frames: the
 * centres of the last `history` reported boxes give a constant velocity, the
 * newest box gives the size, and the exit stops the frame when its box has IoU
 * of at least `minIoU` with that prediction. Lost frames (and gaps in frame
 * indices) clear the history: after them the motion is unknown.
 *
 * @example
 * ```ts
 * // Stop early only when both the decision branch and the motion agree.
 * const policy = allOf(thresholdPolicy({ manifest }), temporalConsistencyPolicy({ minIoU: 0.5 }));
 * ```
 */
export function temporalConsistencyPolicy(options: TemporalConsistencyPolicyOptions = {}): TemporalConsistencyPolicy {
  const history = options.history === undefined ? 5 : checkInteger(options.history, 'temporalConsistencyPolicy.history', 2);
  const minIoU = options.minIoU === undefined ? 0.6 : checkUnit(options.minIoU, 'temporalConsistencyPolicy.minIoU');
  const minFrames = options.minFrames === undefined ? Math.min(2, history) : checkInteger(options.minFrames, 'temporalConsistencyPolicy.minFrames', 1);
  if (minFrames > history) {
    throw new InvalidArgumentError(`temporalConsistencyPolicy.minFrames must be <= history (${history}), got ${minFrames}`);
  }
  // Ring of [cx, cy, w, h] per frame; meta = [count, head (next write slot), last frame index].
  const ring = new Float64Array(4 * history);
  const meta = new Float64Array(3);
  const pred = new Float64Array(4);

  function clear(): void {
    meta[0] = 0;
    meta[1] = 0;
    meta[2] = NaN;
  }
  clear();

  /** Fills `pred` with [x1, y1, x2, y2]; false without enough history. */
  function predictCorners(): boolean {
    const count = meta[0]!;
    if (count < minFrames || count === 0) return false;
    const newest = ((meta[1]! - 1 + history) % history) * 4;
    const oldest = ((meta[1]! - count + history) % history) * 4;
    const steps = count - 1;
    const vx = steps > 0 ? (ring[newest]! - ring[oldest]!) / steps : 0;
    const vy = steps > 0 ? (ring[newest + 1]! - ring[oldest + 1]!) / steps : 0;
    const cx = ring[newest]! + vx;
    const cy = ring[newest + 1]! + vy;
    const w = ring[newest + 2]!;
    const h = ring[newest + 3]!;
    pred[0] = cx - w / 2;
    pred[1] = cy - h / 2;
    pred[2] = cx + w / 2;
    pred[3] = cy + h / 2;
    return true;
  }

  return {
    specificationVersion: 'v1',
    name: `temporalConsistency(iou>=${minIoU}, history ${history})`,
    predict(out): boolean {
      if (!predictCorners()) return false;
      out.x = pred[0]!;
      out.y = pred[1]!;
      out.width = pred[2]! - pred[0]!;
      out.height = pred[3]! - pred[1]!;
      return true;
    },
    shouldExit(ctx: ExitContext): boolean {
      if (!predictCorners()) return false;
      const b: Box = ctx.box;
      if (b === null || b === undefined) return false;
      const bx2 = b.x + b.width;
      const by2 = b.y + b.height;
      const iw = Math.min(bx2, pred[2]!) - Math.max(b.x, pred[0]!);
      const ih = Math.min(by2, pred[3]!) - Math.max(b.y, pred[1]!);
      if (!(iw > 0 && ih > 0)) return false;
      const inter = iw * ih;
      const union = b.width * b.height + (pred[2]! - pred[0]!) * (pred[3]! - pred[1]!) - inter;
      return inter / union >= minIoU;
    },
    onFrameEnd(result: FrameResult): void {
      const b = result.box;
      const contiguous = meta[2]! + 1 === result.frameIndex;
      if (
        result.lost ||
        !Number.isFinite(b.x) || !Number.isFinite(b.y) ||
        !(b.width > 0) || !(b.height > 0) || b.width === Infinity || b.height === Infinity
      ) {
        clear();
        meta[2] = result.frameIndex;
        return;
      }
      if (!contiguous) clear();
      const slot = meta[1]! * 4;
      ring[slot] = b.x + b.width / 2;
      ring[slot + 1] = b.y + b.height / 2;
      ring[slot + 2] = b.width;
      ring[slot + 3] = b.height;
      meta[1] = (meta[1]! + 1) % history;
      if (meta[0]! < history) meta[0] = meta[0]! + 1;
      meta[2] = result.frameIndex;
    },
    reset(): void {
      clear();
    },
  };
}
