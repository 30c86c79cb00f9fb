/**
 * How far a better exit decision could go, before anyone trains one: tracks sequences with
 * the model's threshold policy and with an *oracle* policy that stops at the first exit whose
 * box overlaps the truth by at least τ (what the decision branch estimates: its terminating
 * score is a predicted IoU). Both run through the same tracker, so the oracle's early boxes
 * steer its next search crops exactly as a policy's would. If the oracle keeps 97% of full
 * depth at 60% of the stages and the decision branch does not, the decision is the gap; if
 * the oracle does not either, the exits are. Prints AUC and mean stages per policy.
 *
 *   node --conditions=@dytrack/source --import tsx packages/train/bench/oracle-exits.ts \
 *     [--model DIR] [--sequences 64] [--seed 850000000] [--length 100] [--dataset DIR] \
 *     [--taus 0.5,0.6,0.7,0.8] [--thresholds 0.75] [--threads 1]
 *
 * Defaults are the validation sequences calibration uses (seeds 850 000 000 and up), not the
 * held-out ones.
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

const model = await loadModelDirectory(values.model);
const exits = model.manifest.stages.length;
const sequences: Sequence[] = values.dataset
  ? (await openDataset(values.dataset)).sequences.slice()
  : Array.from({ length: Number(values.sequences) }, (_, k) => createSyntheticSequence({ seed: Number(values.seed) + k, length: Number(values.length) }));
const backend = createNodeBackend({ intraOpNumThreads: Number(values.threads) });
let current: Sequence = sequences[0]!;
const policies: ExitPolicy[] = [
  fixedDepthPolicy({ exit: exits - 1 }),
  values.thresholds === ''
    ? thresholdPolicy({ manifest: model.manifest })
    : thresholdPolicy({ thresholds: values.thresholds.split(',').map(Number) }),
  ...values.taus.split(',').map((t) => oraclePolicy(() => current.groundTruth, Number(t))),
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
  const { meanStages } = summarizeSpeed(runs);
  console.log(`${exitPolicy.name.padEnd(34)} AUC ${score.auc.toFixed(1).padStart(5)}  mean stages ${meanStages!.toFixed(2)} of ${exits}`);
}
await backend.dispose();
