import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { loadModelDirectory } from '@dytrack/model/node';
import { CALIBRATION_SEED_BASE, calibrateThresholds, evaluateModel, writeDefaultThresholds, type CalibrationPoint } from '@dytrack/train';
import { numberOption, parseOptions, UsageError, type Command } from '../command.js';

const HELP = `Usage: dytrack calibrate MODEL_DIR [options]

Chooses a model's default exit thresholds: tracks procedural validation
sequences (seeds ${CALIBRATION_SEED_BASE} and up: neither training nor held-out
test data) at full depth and with the threshold policy at each candidate
threshold, and keeps the candidate with the fewest mean stages whose AUC is at
least --retain x the full-depth AUC, or with --max-stages the candidate with the
highest AUC within that share of the stages, and says what share of full depth it
keeps with a 95% paired bootstrap interval over the validation sequences (read the
interval before trusting a tenth of a point). Writes the thresholds into MODEL_DIR's
dytrack.model.json (the ONNX files are untouched), then re-runs the held-out
evaluation so the manifest's figures match the new defaults.

Options:
  --sequences N        validation sequences (default 16)
  --retain R           share of the full-depth AUC to keep (default 0.985)
  --max-stages F       instead: the most accurate candidate running at most F x the
                       model's stages per frame on average (0.6: 60% of the network)
  --candidates A,B,..  thresholds to try (default 0.3,0.4,0.5,0.55,...,0.9)
  --workers N          worker threads tracking the validation sequences side by
                       side (default: the number of cores); the points do not depend on it
  --eval-sequences N   held-out procedural sequences of the re-evaluation (default 32; 0 skips)
  --eval-dataset DIR   also re-evaluate on this dataset (repeatable)
  --dry-run            print the choice, write nothing

Examples:
  dytrack calibrate runs/tiny/model --eval-dataset ../shared/data/sequences
  dytrack calibrate runs/tiny/model --retain 0.99 --candidates 0.5,0.6,0.7 --dry-run
  dytrack calibrate runs/tiny/model --max-stages 0.6 --sequences 64
`;

function point(p: CalibrationPoint): string {
  const label = p.thresholds ? `thresholds ${p.thresholds.map((t) => t.toFixed(2)).join(',')}` : 'full depth';
  return `${label.padEnd(28)} AUC ${p.auc.toFixed(1).padStart(5)}  mean stages ${p.meanStages.toFixed(2)}`;
}

/** `dytrack calibrate`: default exit thresholds from validation sequences (logic in `@dytrack/train`). */
export const calibrateCommand: Command = {
  name: 'calibrate',
  summary: "choose a model's default exit thresholds on validation sequences",
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      sequences: { type: 'string' },
      retain: { type: 'string' },
      'max-stages': { type: 'string' },
      candidates: { type: 'string' },
      workers: { type: 'string' },
      'eval-sequences': { type: 'string' },
      'eval-dataset': { type: 'string', multiple: true },
      'dry-run': { type: 'boolean', default: false },
    });
    if (positionals.length !== 1) throw new UsageError('give one MODEL_DIR (see dytrack calibrate --help)');
    const dir = resolve(io.cwd, positionals[0]!);
    const sequences = numberOption(values.sequences, 'sequences', 16);
    if (!Number.isInteger(sequences) || sequences < 1) throw new UsageError(`--sequences must be a positive integer, got ${values.sequences}`);
    if (values.retain !== undefined && values['max-stages'] !== undefined) throw new UsageError('give --retain or --max-stages, not both: they are two rules for choosing thresholds');
    const maxStages = values['max-stages'] === undefined ? undefined : numberOption(values['max-stages'], 'max-stages', 1);
    if (maxStages !== undefined && !(maxStages > 0 && maxStages <= 1)) throw new UsageError(`--max-stages must be a share of the stages in (0, 1], got ${values['max-stages']}`);
    const retain = maxStages === undefined ? numberOption(values.retain, 'retain', 0.985) : undefined;
    if (retain !== undefined && !(retain > 0 && retain <= 1)) throw new UsageError(`--retain must be in (0, 1], got ${values.retain}`);
    let candidates: number[] | undefined;
    if (values.candidates !== undefined) {
      candidates = values.candidates.split(',').map((x) => Number(x.trim()));
      if (candidates.length === 0 || candidates.some((t) => !(t >= 0 && t <= 1))) throw new UsageError(`--candidates must be thresholds in [0, 1], got "${values.candidates}"`);
    }
    const workers = numberOption(values.workers, 'workers', availableParallelism());
    if (!Number.isInteger(workers) || workers < 1) throw new UsageError(`--workers must be a positive integer, got ${values.workers}`);
    const evalSequences = numberOption(values['eval-sequences'], 'eval-sequences', 32);
    if (!Number.isInteger(evalSequences) || evalSequences < 0) throw new UsageError(`--eval-sequences must be a non-negative integer, got ${values['eval-sequences']}`);
    const model = await loadModelDirectory(dir);
    const calibration = await calibrateThresholds(model, {
      syntheticSequences: sequences,
      ...(maxStages !== undefined ? { maxStages } : { retain: retain ?? 0.985 }),
      ...(candidates ? { candidates } : {}),
      workers,
      onPoint: (p) => io.stderr.write(`${point(p)}\n`),
    });
    const rule = maxStages !== undefined ? `at most ${maxStages} of the stages` : `retain ${retain}`;
    io.stdout.write(`chosen: ${point(calibration.chosen)} (full depth ${calibration.fullDepthAuc.toFixed(1)}, ${rule})\n`);
    const kept = calibration.keptOfFullDepth;
    if (kept) {
      const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
      io.stdout.write(`keeps ${pct(kept.ratio)} of full depth (95% interval ${pct(kept.ratioLow)} to ${pct(kept.ratioHigh)} over the ${kept.sequences} validation sequences, paired)\n`);
    }
    if (!calibration.ruleMet) {
      const fallback = maxStages !== undefined ? 'the cheapest candidate' : 'the most accurate candidate';
      io.stdout.write(`no candidate met the rule (${rule}) on the validation sequences; chose ${fallback}\n`);
    }
    if (values['dry-run']) return 0;
    await writeDefaultThresholds(dir, calibration.thresholds, { calibration });
    const datasets = (values['eval-dataset'] ?? []).map((d) => resolve(io.cwd, d));
    if (evalSequences > 0 || datasets.length > 0) {
      io.stderr.write('re-evaluating on held-out sequences\n');
      const evaluation = await evaluateModel(await loadModelDirectory(dir), { syntheticSequences: evalSequences, datasets });
      await writeDefaultThresholds(dir, calibration.thresholds, { evaluation });
      for (const e of evaluation) {
        io.stdout.write(`${e.data}: full depth AUC ${e.perExit[e.perExit.length - 1]!.auc.toFixed(1)}, dynamic AUC ${e.dynamic.auc.toFixed(1)} at ${e.dynamic.meanStages?.toFixed(2) ?? '-'} stages\n`);
      }
    }
    io.stdout.write(`wrote ${dir}\n`);
    return 0;
  },
};
