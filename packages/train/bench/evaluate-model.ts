/**
 * Evaluates a model directory as `trainModel` does at the end of a run (every fixed depth and
 * the default-threshold dynamic policy) and prints the figures as JSON.
 * Usage: node --conditions=@dytrack/source --import tsx packages/train/bench/evaluate-model.ts MODEL_DIR [LOST_THRESHOLD] [DATASET...]
 */
import { loadModelDirectory } from '@dytrack/model/node';
import { evaluateModel } from '../src/index.js';

const [dir, lost, ...datasets] = process.argv.slice(2);
if (!dir) throw new Error('usage: evaluate-model.ts MODEL_DIR [LOST_THRESHOLD] [DATASET...]');
const result = await evaluateModel(await loadModelDirectory(dir), {
  syntheticSequences: 8,
  datasets,
  ...(lost !== undefined ? { lostThreshold: Number(lost) } : {}),
});
console.log(JSON.stringify(result, null, 2));
