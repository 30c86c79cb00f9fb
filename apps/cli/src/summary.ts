import type { FrameResult } from '@dytrack/core';

/** What a tracking run prints at the end. */
export interface RunSummary {
  /** Frames read, including the init frame. */
  frames: number;
  /** Frames that could not be read and were skipped. */
  skipped: number;
  /** Frames reported lost. */
  lost: number;
  /** Whole per-frame loop (preprocessing, inference, decision), frames per second. */
  fps: number;
  /** Network alone, frames per second. */
  networkFps: number;
  /** Mean stages run per tracked frame. */
  meanStages: number;
  /** Frames that took each exit. */
  exitHistogram: number[];
}

/** Summarises the update results of a run (the init frame is counted in `frames` only). */
export function summarizeRun(results: readonly FrameResult[], frames: number, skipped: number, exitCount: number): RunSummary {
  const exitHistogram = new Array<number>(exitCount).fill(0);
  let total = 0;
  let network = 0;
  let stages = 0;
  let lost = 0;
  for (const r of results) {
    exitHistogram[r.exitIndex] = (exitHistogram[r.exitIndex] ?? 0) + 1;
    total += r.timings.totalMs;
    network += r.timings.inferenceMs;
    stages += r.stagesRun;
    if (r.lost) lost += 1;
  }
  const n = results.length;
  return {
    frames,
    skipped,
    lost,
    fps: n && total > 0 ? (1000 * n) / total : 0,
    networkFps: n && network > 0 ? (1000 * n) / network : 0,
    meanStages: n ? stages / n : 0,
    exitHistogram,
  };
}

/** Human-readable lines of a summary. */
export function formatSummary(s: RunSummary): string {
  const tracked = s.exitHistogram.reduce((a, b) => a + b, 0);
  const histogram = s.exitHistogram.map((count, k) => `exit ${k}: ${count} (${tracked ? ((100 * count) / tracked).toFixed(0) : 0}%)`).join(', ');
  return [
    `frames        ${s.frames}${s.skipped ? ` (${s.skipped} skipped)` : ''}${s.lost ? `, target lost on ${s.lost}` : ''}`,
    `speed         ${s.fps.toFixed(1)} fps whole loop, ${s.networkFps.toFixed(1)} fps network only`,
    `mean stages   ${s.meanStages.toFixed(2)} of ${s.exitHistogram.length}`,
    // The first frame sets the template and runs no stage, so the counts cover one frame fewer.
    `exits         ${histogram}${tracked > 0 ? ` of ${tracked} frames after the first` : ''}`,
  ].join('\n');
}

/** Box as `x,y,w,h` with 2 decimals (the one-box-per-line format of the field). */
export function formatBoxLine(box: { x: number; y: number; width: number; height: number }): string {
  return `${box.x.toFixed(2)},${box.y.toFixed(2)},${box.width.toFixed(2)},${box.height.toFixed(2)}`;
}

/** A progress line: `label  12/120 frames  10%  ETA 3s`. */
export function progressLine(label: string, done: number, total: number | undefined, elapsedMs: number): string {
  if (total === undefined) return `${label}  ${done} frames`;
  const pct = total ? (100 * done) / total : 100;
  const eta = done > 0 ? ((total - done) * elapsedMs) / done / 1000 : NaN;
  return `${label}  ${done}/${total} frames  ${pct.toFixed(0)}%  ETA ${Number.isFinite(eta) ? `${eta.toFixed(0)}s` : '?'}`;
}

/**
 * Progress on stderr: one line rewritten in place on a terminal; on a pipe or a
 * log file, a new line each 10% (so CI logs stay short).
 */
export function createProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, label: string, total: number | undefined): { update(done: number): void; finish(done: number): void } {
  const started = performance.now();
  let lastWrite = 0;
  let lastDecile = -1;
  return {
    update(done: number): void {
      const now = performance.now();
      if (stream.isTTY) {
        if (now - lastWrite < 250) return;
        lastWrite = now;
        stream.write(`\r${progressLine(label, done, total, now - started)}\x1b[K`);
      } else {
        const decile = total ? Math.floor((10 * done) / total) : Math.floor(done / 100);
        // The last line is finish()'s.
        if (decile === lastDecile || (total !== undefined && done >= total)) return;
        lastDecile = decile;
        stream.write(`${progressLine(label, done, total, now - started)}\n`);
      }
    },
    finish(done: number): void {
      const line = `${progressLine(label, done, total, performance.now() - started)} (${((performance.now() - started) / 1000).toFixed(1)}s)`;
      stream.write(stream.isTTY ? `\r${line}\x1b[K\n` : `${line}\n`);
    },
  };
}
