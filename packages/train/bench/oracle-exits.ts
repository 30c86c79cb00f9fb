/**
 * How far a better exit decision could go, before anyone trains one: tracks sequences with
 * the model's threshold policy and with an *oracle* policy that stops at the first exit whose
 * box overlaps the truth by at least τ (what the decision branch estimates: its terminating
 * score is a predicted IoU). Both run through the same tracker, so the oracle's early boxes
 * steer its next search crops exactly as a policy's would. If the oracle keeps 97% of full
 * depth at 60% of the stages and the decision branch does not, the decision is the gap; if
 * the oracle does not either, the exits are. Prints AUC and mean stages per policy, then, from
 * the full-depth run, each exit's overlap with the truth, how often it is as good as the last
 * exit's (within 0.05: stopping there would lose nothing on that frame), how far its decision
 * branch's score is from its IoU, and how often a score over the threshold marks a box under
 * IoU 0.5.
 *
 *   node --conditions=@dytrack/source --import tsx packages/train/bench/oracle-exits.ts \
 *     [--model DIR] [--sequences 64] [--seed 850000000] [--length 100] [--dataset DIR] \
 *     [--taus 0.5,0.6,0.7,0.8 | ''] [--thresholds 0.75,0.75] [--threads 1]
 *
 * Defaults are the validation sequences calibration uses (seeds 850 000 000 and up), not the
 * held-out ones. `--thresholds` lists one threshold per early exit (default: the model's); as in
 * `thresholdPolicy`, an exit past the list never stops the frame.
 */
import { parseArgs } from 'node:util';
import type { Box, ExitContext, ExitPolicy } from '@dytrack/core';
import { createNodeBackend } from '@dytrack/backend-node';
import { createSyntheticSequence, iouInclusive, openDataset, runTrackerOnSequence, scorePredictions, summarizeSpeed, type Sequence, type SequenceRun } from '@dytrack/eval';
import { fixedDepthPolicy, thresholdPolicy } from '@dytrack/exit-policies';
import { DEFAULT_MODEL_DIRECTORY, loadModelDirectory } from '@dytrack/model/node';
import { createTracker } from '@dytrack/tracker';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: DEFAULT_MODEL_DIRECTORY },
    sequences: { type: 'string', default: '64' },
    seed: { type: 'string', default: '850000000' },
    length: { type: 'string', default: '100' },
    dataset: { type: 'string' },
    taus: { type: 'string', default: '0.5,0.6,0.7,0.8' },
    thresholds: { type: 'string', default: '' },
    threads: { type: 'string', default: '1' },
  },
});

/** Stops at the first exit whose box overlaps the truth of its frame by at least `tau`. */
function oraclePolicy(truth: () => readonly Box[], tau: number): ExitPolicy {
  return {
    specificationVersion: 'v1',
    name: `oracle(iou>=${tau})`,
    shouldExit: (ctx: ExitContext) => iouInclusive(ctx.box, truth()[ctx.frameIndex]!) >= tau,
  };
}

/** Per exit: the IoU of its box with the truth and its terminating score, frame by frame. */
interface ExitRecord {
  iou: number[];
  score: number[];
}

/** `inner`, recording what each exit it is asked about saw (the full-depth run asks every exit). */
function recordingPolicy(inner: ExitPolicy, truth: () => readonly Box[], records: ExitRecord[]): ExitPolicy {
  return {
    specificationVersion: 'v1',
    name: inner.name,
    ...(inner.reset ? { reset: () => inner.reset!() } : {}),
    shouldExit: (ctx: ExitContext) => {
      const r = (records[ctx.exitIndex] ??= { iou: [], score: [] });
      r.iou.push(iouInclusive(ctx.box, truth()[ctx.frameIndex]!));
      r.score.push(ctx.terminatingScore);
      return inner.shouldExit(ctx);
    },
  };
}

/** Where each early exit stands while the tracker runs at full depth, and how its decision branch reads it. */
function exitTable(records: readonly ExitRecord[], thresholds: readonly number[]): string {
  const rows = ['exit  frames  IoU>=0.5  IoU>=0.7  >=last-0.05  mean IoU  mean |score-IoU|  score>=t  of which IoU<0.5'];
  const last = records[records.length - 1]!;
  records.forEach((r, k) => {
    const n = r.iou.length;
    if (n === 0) return;
    const share = (f: (i: number) => boolean) => (100 * r.iou.filter((_, i) => f(i)).length) / n;
    const asGood = share((i) => r.iou[i]! >= last.iou[i]! - 0.05);
    const scored = !r.score.every(Number.isNaN);
    const t = thresholds[k] ?? Number.POSITIVE_INFINITY;
    const stops = r.score.filter((s) => s >= t).length;
    const wrong = r.score.filter((s, i) => s >= t && r.iou[i]! < 0.5).length;
    rows.push(
      `${String(k).padStart(4)}  ${String(n).padStart(6)}  ${share((i) => r.iou[i]! >= 0.5).toFixed(1).padStart(7)}%  ${share((i) => r.iou[i]! >= 0.7).toFixed(1).padStart(7)}%  ` +
        `${asGood.toFixed(1).padStart(10)}%  ${(r.iou.reduce((a, b) => a + b, 0) / n).toFixed(3).padStart(8)}  ` +
        (scored
          ? `${(r.score.reduce((a, s, i) => a + Math.abs(s - r.iou[i]!), 0) / n).toFixed(3).padStart(15)}  ${((100 * stops) / n).toFixed(1).padStart(7)}%  ${stops ? `${((100 * wrong) / stops).toFixed(1).padStart(15)}%` : '               -'}`
          : `${'-'.padStart(15)}  ${'-'.padStart(8)}  ${'-'.padStart(16)}`),
    );
  });
  return rows.join('\n');
}

const model = await loadModelDirectory(values.model);
const exits = model.manifest.stages.length;
const sequences: Sequence[] = values.dataset
  ? (await openDataset(values.dataset)).sequences.slice()
  : Array.from({ length: Number(values.sequences) }, (_, k) => createSyntheticSequence({ seed: Number(values.seed) + k, length: Number(values.length) }));
const backend = createNodeBackend({ intraOpNumThreads: Number(values.threads) });
let current: Sequence = sequences[0]!;
const records: ExitRecord[] = [];
const threshold =
  values.thresholds === '' ? thresholdPolicy({ manifest: model.manifest }) : thresholdPolicy({ thresholds: values.thresholds.split(',').map(Number) });
const policies: ExitPolicy[] = [
  recordingPolicy(fixedDepthPolicy({ exit: exits - 1 }), () => current.groundTruth, records),
  threshold,
  ...values.taus
    .split(',')
    .filter((t) => t.trim() !== '')
    .map((t) => oraclePolicy(() => current.groundTruth, Number(t))),
];
console.log(`${values.model}: ${sequences.length} sequences${values.dataset ? ` from ${values.dataset}` : ` (seeds ${values.seed}+, ${values.length} frames)`}`);
for (const exitPolicy of policies) {
  const tracker = await createTracker({ backend, model, exitPolicy });
  const runs: SequenceRun[] = [];
  for (const seq of sequences) {
    current = seq;
    runs.push(await runTrackerOnSequence(tracker, seq));
  }
  await tracker.dispose();
  const { score } = scorePredictions(sequences, new Map(runs.map((r) => [r.sequence, r.boxes])));
  if (exitPolicy === policies[0]) {
    // The last exit is never asked (the frame ends there): its boxes are the run's, frame 0 (the given box) left out.
    const last: ExitRecord = (records[exits - 1] = { iou: [], score: [] });
    runs.forEach((r, i) => r.boxes.forEach((b, t) => t > 0 && (last.iou.push(iouInclusive(b, sequences[i]!.groundTruth[t]!)), last.score.push(Number.NaN))));
  }
  const { meanStages } = summarizeSpeed(runs);
  console.log(`${exitPolicy.name.padEnd(34)} AUC ${score.auc.toFixed(1).padStart(5)}  mean stages ${meanStages!.toFixed(2)} of ${exits}`);
}
console.log(`\nEach exit while tracking at full depth (t: the threshold policy's ${threshold.thresholds.join(', ')}):\n${exitTable(records, threshold.thresholds)}`);
await backend.dispose();
