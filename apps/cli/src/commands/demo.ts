import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Box, FrameResult } from '@dytrack/core';
import { createTracker } from '@dytrack/tracker';
import { encodePng } from '@dytrack/image';
import { createSyntheticSequence, formatBoxFile, scoreSequence, sequenceErrors, summarizeCurves } from '@dytrack/eval';
import { composeStrip, toRgbImage, type RgbImage } from '@dytrack/media';
import { numberOption, parseOptions, type Command } from '../command.js';
import { openBackend, openModel, openPolicy, trackingHelp, trackingOptions } from '../wiring.js';
import { createProgress, formatSummary, summarizeRun } from '../summary.js';
import { annotateFrame } from './track.js';

/** Generator seed of the demo sequence: outside every range the shipped model was trained on. */
export const DEMO_SEED = 9_000_001;

export const demoCommand: Command = {
  name: 'demo',
  summary: 'generate a sequence, track it with the default model, print accuracy and write an annotated strip',
  help: `Usage: dytrack demo [options]

A self-contained first run: generates a sequence with the project's procedural generator
(a textured target moving among distractors), tracks it with the shipped default model,
prints speed, exits taken and accuracy against the generated truth, and writes
OUT/strip.png (frames with the truth in green and the tracker's box coloured by the exit
it took: cyan exit 0, yellow exit 1, magenta exit 2), OUT/boxes.txt and OUT/summary.json.

Options:
  --out DIR           where to write (default: ./dytrack-demo)
  --seed N            generator seed (default ${DEMO_SEED})
  --frames N          sequence length (default 120)
${trackingHelp}
  --json              print the summary as JSON

Examples:
  dytrack demo
  dytrack demo --policy fixed:0 --out demo-exit0
  dytrack demo --seed 42 --frames 300 --json`,

  async run(argv, io) {
    const { values } = parseOptions(argv, { ...trackingOptions, out: { type: 'string' }, seed: { type: 'string' }, frames: { type: 'string' }, json: { type: 'boolean' } });
    const seed = numberOption(values.seed, 'seed', DEMO_SEED);
    const length = numberOption(values.frames, 'frames', 120);
    const out = resolve(io.cwd, values.out ?? 'dytrack-demo');
    const sequence = createSyntheticSequence({ seed, length, width: 480, height: 360 });
    const model = await openModel(values.model);
    const exitPolicy = openPolicy(values.policy, model);
    const backend = openBackend(values.threads);
    const tracker = await createTracker({ backend, model, exitPolicy });
    if (!values.json) io.stderr.write(`dytrack demo: ${sequence.length} generated frames (seed ${seed}), model ${model.manifest.name}, policy ${exitPolicy.name}\n`);

    const boxes: Box[] = [];
    const results: FrameResult[] = [];
    const strip: RgbImage[] = [];
    const stripAt = new Set(Array.from({ length: 8 }, (_, i) => Math.round((i * (sequence.length - 1)) / 7)));
    const progress = values.json ? undefined : createProgress(io.stderr, 'tracking', sequence.length);
    try {
      for (let i = 0; i < sequence.length; i++) {
        const frame = await sequence.frame(i);
        let result: FrameResult | undefined;
        if (i === 0) {
          await tracker.init(frame, sequence.groundTruth[0]!);
          boxes.push(sequence.groundTruth[0]!);
        } else {
          result = await tracker.update(frame);
          results.push(result);
          boxes.push(result.box);
        }
        if (stripAt.has(i)) strip.push(annotateFrame(toRgbImage(frame), i, boxes[i]!, result, sequence.groundTruth[i]));
        progress?.update(i + 1);
      }
    } finally {
      await tracker.dispose();
      await backend.dispose();
    }
    progress?.finish(sequence.length);

    const score = scoreSequence(sequenceErrors({ predictions: boxes, truth: sequence.groundTruth, name: `synthetic-${seed}` }));
    const accuracy = summarizeCurves(score.successCurve, score.precisionCurve, score.normPrecisionCurve);
    const summary = summarizeRun(results, sequence.length, 0, model.manifest.stages.length);
    mkdirSync(out, { recursive: true });
    const stripPath = join(out, 'strip.png');
    writeFileSync(stripPath, encodePng(composeStrip(strip, { columns: 4, tileWidth: 360 })));
    writeFileSync(join(out, 'boxes.txt'), formatBoxFile(boxes));
    const record = { seed, model: model.manifest.name, policy: exitPolicy.name, ...summary, accuracy, strip: stripPath };
    writeFileSync(join(out, 'summary.json'), JSON.stringify(record, null, 2) + '\n');
    if (values.json) {
      io.stdout.write(JSON.stringify(record) + '\n');
    } else {
      io.stdout.write(
        `${formatSummary(summary)}\naccuracy      AUC ${accuracy.auc.toFixed(1)}, precision@20px ${accuracy.precision.toFixed(1)}, OP50 ${accuracy.op50.toFixed(1)} (against the generated truth)\nstrip         ${stripPath}\n`,
      );
    }
    return 0;
  },
};
