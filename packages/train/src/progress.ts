import type { TrainProgress } from './train.js';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(sec).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/**
 * One progress-bar line: `[#####.....] 120/1000 loss 3.21 (ema 3.40) lr 2.0e-4 0.45 step/s ETA 32:35`.
 * `width` is the bar's character count.
 */
export function formatProgressLine(p: TrainProgress, width = 24): string {
  const done = Math.min(width, Math.round((width * p.step) / p.totalSteps));
  const bar = '#'.repeat(done) + '.'.repeat(width - done);
  return `[${bar}] ${p.step}/${p.totalSteps} loss ${p.loss.toFixed(3)} (ema ${p.smoothedLoss.toFixed(3)}) lr ${p.lr.toExponential(1)} ${p.stepsPerSecond.toFixed(2)} step/s ETA ${duration(p.etaSeconds)}`;
}
