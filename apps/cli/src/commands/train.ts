import { resolve } from 'node:path';
import { readFile, stat } from 'node:fs/promises';
import { DyTrackError } from '@dytrack/core';
import { modelConfig, readSafetensors, weightsFromSafetensors, weightsToSafetensors, type ModelVariant } from '@dytrack/model';
import { readModelDirectoryWeights } from '@dytrack/model/node';
import { formatProgressLine, parseDataSources, selectParameters, trainModel, type ModelEvaluation, type TrainProgress } from '@dytrack/train';
import { numberOption, parseOptions, UsageError, type Command } from '../command.js';

const HELP = `Usage: dytrack train --variant tiny --data SOURCES --steps N --out DIR [options]

Trains a DyTrack model on onnxruntime: (template, search) pairs with OSTrack's
jitter and augmentations, the DyTrack loss on every exit (box, focal, decision
branch, target-aware self-distillation), AdamW with warm-up and cosine decay.
Checkpoints go to DIR/checkpoint.safetensors (resume with --resume); at the end
DIR holds loss.png, exits.png (each exit's IoU on the training pairs),
history.json and weights.safetensors, and the exported model
(ONNX stages + dytrack.model.json, provenance and held-out evaluation included)
goes to --export (default DIR/model).

Data (--data, comma-separated):
  synthetic            procedural sequences (seeds below 800000000; evaluation
                       uses 900000000 and up, never seen in training); half of them
                       use clip art when Debian's openclipart-png is installed, and
                       any JPEG/PNG under /usr/share/backgrounds as backgrounds (Debian
                       12's gnome-backgrounds is WebP and SVG, not read: procedural there)
  synthetic:N          only N distinct procedural sequences
  procedural, procedural:N   the same, never using installed photographs or clip art
                       (what the shipped model was trained on; reproducible anywhere)
  DIR                  a dataset in the OTB, LaSOT or GOT-10k layout (detected)
  otb:DIR lasot:DIR got10k:DIR   force the layout
  SOURCE*W             sampling weight W (default 1)

Options:
  --variant NAME       architecture (default tiny)
  --no-recycling       exit heads without feature recycling (the ablation)
  --stage-depths D,..  ViT blocks per stage, first stage first (default: the variant's, 2,2,2 for
                       tiny). With --init-from, blocks the weights lack start as the identity,
                       so 2,2,3 from a 2,2,2 model grows its last stage by one block (not with
                       --train-only: blocks that would stay frozen at their start are refused)
  --size-conv-layers N 3x3 layers of each exit's size branch (default: the variant's, 2)
  --template-size T, --search-size S
                       crop sides in pixels, multiples of the patch size (default: the variant's,
                       128 and 256): a smaller search crop has fewer tokens, so a step costs less
                       (search 128: about a quarter). With --init-from, position embeddings made
                       for another size are resampled (bicubic), so a model trained small
                       continues at full size
  --offset-input I     what each exit's offset map reads: size-branch (default: the
                       size branch's 3x3 convolutions, which locate centres within a
                       cell) or trunk (the per-cell trunk; models before 2026-11-25)
  --steps N            optimizer steps (required)
  --batch N            samples per step (default 8)
  --lr X               peak learning rate (default 4e-4)
  --warmup N           warm-up steps (default 5% of --steps)
  --decay D            cosine (default), step or constant
  --loss-weights K=V,..  override loss weights: giou, l1, focal, decision, feature,
                       scoreKL, sizeDense, offsetDense (for example feature=0,scoreKL=0: no
                       self-distillation; sizeDense=5 / offsetDense=5: size / centre offset
                       supervised at every cell near the truth)
  --exit-weights W,..  weight of each exit's whole loss, first exit first (default 1 each;
                       for example 2,1,1 to favour the first exit, which the dynamic policy
                       stops at most often)
  --search-jitter C,S  search-crop jitter: centre C (the centre moves up to
                       C/2 x sqrt(w h)) and scale S (log-normal sigma); default 3,0.25 (OSTrack)
  --pairs-per-sequence N  consecutive samples of a batch drawn from one sequence (default 1);
                       2-4 halve the batch loader's work on generated data (it builds
                       fewer sequences), so more of the CPU goes to the training step
  --min-visibility F   skip training pairs whose template or search frame shows less than
                       this fraction of the target (0-1; default 0): generated sequences
                       keep the truth box on a target hidden behind another object,
                       which labels the occluder as the target
  --first-frame-templates P  probability (0-1; default 0) that a pair's template is its
                       sequence's first frame, as in tracking (generated sequences start
                       with every object near the middle, look-alikes touching the target)
  --hidden-negatives P probability (0-1; default 0) of a negative pair: the search frame is
                       one where the target is hidden behind another object, labelled with
                       an empty heat map, so the tracker learns to report it lost there
                       instead of following the occluder
  --init-from FILE     start from these weights (an earlier run's weights.safetensors or
                       checkpoint.safetensors, or an exported model directory such as
                       packages/model/default): a fine-tuning phase with a fresh schedule;
                       parameters the file lacks (a new head) start from the random init
  --train-only P,..    train only the parameters these name patterns pick (whole
                       dot-separated segments: decision = every exit's decision branch,
                       exits.2 = the last exit's head); the rest stay as --init-from
                       gave them, and the backward pass skips them (a far cheaper step)
  --decision-loss KIND the decision branch's loss against its box's IoU: l1 (default) or bce
                       (bce fits the mean IoU where l1 fits its median; docs/ablation.md
                       session 16 compares them)
  --decision-target T  what an early exit's decision branch learns: iou (default, its box's
                       IoU) or as-good-as-last (1 when its box's IoU is within
                       --decision-margin of the last exit's, else 0): a policy on it stops
                       where going deeper would not help, also on frames hard for every exit
  --decision-margin M  how far below the last exit's IoU still counts as good as it
                       (as-good-as-last only; default 0.05)
  --seed N             run seed: initial weights and every batch (default 1)
  --threads N          onnxruntime intra-op threads of the step (default 2)
  --checkpoint-every N steps between checkpoints (default 100)
  --resume             continue from DIR/checkpoint.safetensors
  --stop-after N       stop after step N (checkpoint, no export)
  --no-worker          prepare batches on the main thread
  --fp16               store exported weights as float16
  --export DIR         where the model goes (default OUT/model)
  --eval-sequences N   held-out procedural sequences evaluated at the end (default 32; 0 skips)
  --eval-dataset DIR   also evaluate on this dataset (repeatable)
  --no-eval            skip the evaluation

Examples:
  dytrack train --variant tiny --data synthetic --steps 2000 --out runs/tiny
  dytrack train --variant tiny --data synthetic --steps 8500 --lr 4e-4 --warmup 300 --search-jitter 1.5,0.25 --threads 1 --out runs/tiny
  dytrack train --variant tiny --data synthetic,../shared/data/sequences*0.2 --steps 2000 --no-recycling --out runs/ablation
`;

function pct(v: number): string {
  return v.toFixed(1);
}

function evaluationTable(evals: readonly ModelEvaluation[]): string {
  const lines: string[] = [];
  for (const e of evals) {
    lines.push(`${e.data} (${e.sequences.length} sequences)`);
    e.perExit.forEach((f, k) => lines.push(`  always exit ${k}: AUC ${pct(f.auc)}  P@20 ${pct(f.precision)}  ${f.fps.toFixed(0)} fps`));
    lines.push(`  dynamic:       AUC ${pct(e.dynamic.auc)}  P@20 ${pct(e.dynamic.precision)}  mean stages ${e.dynamic.meanStages?.toFixed(2) ?? '-'}  ${e.dynamic.fps.toFixed(0)} fps`);
  }
  return lines.join('\n');
}

/** `dytrack train`: the training pipeline of `@dytrack/train`. */
export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model (procedural and dataset pairs) and export it',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      variant: { type: 'string', default: 'tiny' },
      data: { type: 'string' },
      steps: { type: 'string' },
      out: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      warmup: { type: 'string' },
      decay: { type: 'string' },
      seed: { type: 'string' },
      'loss-weights': { type: 'string' },
      'search-jitter': { type: 'string' },
      'exit-weights': { type: 'string' },
      'init-from': { type: 'string' },
      'train-only': { type: 'string' },
      'decision-loss': { type: 'string' },
      'decision-target': { type: 'string' },
      'decision-margin': { type: 'string' },
      'no-recycling': { type: 'boolean', default: false },
      'size-conv-layers': { type: 'string' },
      'template-size': { type: 'string' },
      'search-size': { type: 'string' },
      'stage-depths': { type: 'string' },
      'offset-input': { type: 'string' },
      'pairs-per-sequence': { type: 'string' },
      'min-visibility': { type: 'string' },
      'first-frame-templates': { type: 'string' },
      'hidden-negatives': { type: 'string' },
      threads: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      'stop-after': { type: 'string' },
      'no-worker': { type: 'boolean', default: false },
      fp16: { type: 'boolean', default: false },
      export: { type: 'string' },
      'eval-sequences': { type: 'string' },
      'eval-dataset': { type: 'string', multiple: true },
      'no-eval': { type: 'boolean', default: false },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see dytrack train --help)`);
    if (!values.data) throw new UsageError('--data SOURCES is required (for example --data synthetic)');
    if (!values.out) throw new UsageError('--out DIR is required');
    if (values.steps === undefined) throw new UsageError('--steps N is required');
    const int = (v: string | undefined, name: string, fallback: number, min: number): number => {
      const n = numberOption(v, name, fallback);
      if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
      return n;
    };
    const steps = int(values.steps, 'steps', 0, 1);
    // Checked here too so the message names the flags, not the library's options.
    if (values.warmup !== undefined && Number(values.warmup) > steps) throw new UsageError(`--warmup (${values.warmup}) must not exceed --steps (${steps})`);
    if (values['stop-after'] !== undefined && Number(values['stop-after']) > steps) throw new UsageError(`--stop-after (${values['stop-after']}) must not exceed --steps (${steps})`);
    const minVisibility = numberOption(values['min-visibility'], 'min-visibility', 0);
    if (!(minVisibility >= 0 && minVisibility <= 1)) throw new UsageError(`--min-visibility must be a number from 0 to 1, got ${values['min-visibility']}`);
    const probability = (flag: 'first-frame-templates' | 'hidden-negatives'): number => {
      const p = numberOption(values[flag], flag, 0);
      if (!(p >= 0 && p <= 1)) throw new UsageError(`--${flag} must be a probability from 0 to 1, got ${values[flag]}`);
      return p;
    };
    const firstFrameTemplates = probability('first-frame-templates');
    const hiddenNegatives = probability('hidden-negatives');
    const trainOnly = values['train-only']?.split(',').map((x) => x.trim());
    if (trainOnly && trainOnly.some((x) => x === '')) throw new UsageError(`--train-only needs comma-separated parameter name patterns (for example decision or exits.2), got "${values['train-only']}"`);
    const decisionLoss = values['decision-loss'];
    if (decisionLoss !== undefined && decisionLoss !== 'l1' && decisionLoss !== 'bce') throw new UsageError(`--decision-loss must be l1 or bce, got "${decisionLoss}"`);
    const targetFlag = values['decision-target'];
    if (targetFlag !== undefined && targetFlag !== 'iou' && targetFlag !== 'as-good-as-last') throw new UsageError(`--decision-target must be iou or as-good-as-last, got "${targetFlag}"`);
    const decisionTarget = targetFlag === 'as-good-as-last' ? ('asGoodAsLast' as const) : targetFlag === 'iou' ? ('iou' as const) : undefined;
    if (values['decision-margin'] !== undefined && decisionTarget !== 'asGoodAsLast') throw new UsageError('--decision-margin applies to --decision-target as-good-as-last only');
    const decisionMargin = values['decision-margin'] === undefined ? undefined : numberOption(values['decision-margin'], 'decision-margin', 0.05);
    if (decisionMargin !== undefined && !(decisionMargin >= 0 && decisionMargin <= 1)) throw new UsageError(`--decision-margin must be an IoU difference from 0 to 1, got ${values['decision-margin']}`);
    const decisionSettings = { ...(decisionLoss ? { decisionLoss: decisionLoss as 'l1' | 'bce' } : {}), ...(decisionTarget ? { decisionTarget } : {}), ...(decisionMargin !== undefined ? { decisionMargin } : {}) };
    const decay = values.decay ?? 'cosine';
    if (decay !== 'cosine' && decay !== 'step' && decay !== 'constant') throw new UsageError(`--decay must be cosine, step or constant, got "${decay}"`);
    let config;
    try {
      config = modelConfig(values.variant as ModelVariant, values['no-recycling'] ? { exitRecycling: false } : {});
    } catch {
      throw new UsageError(`--variant must be tiny or base, got "${values.variant}"`);
    }
    if (values['size-conv-layers'] !== undefined) config = modelConfig(values.variant as ModelVariant, { ...config, sizeConvLayers: int(values['size-conv-layers'], 'size-conv-layers', 0, 0) });
    if (values['stage-depths'] !== undefined) {
      const depths = values['stage-depths'].split(',').map((x) => Number(x.trim()));
      if (depths.length < 3 || !depths.every((d) => Number.isInteger(d) && d >= 1)) {
        throw new UsageError(`--stage-depths must be at least 3 positive integers, blocks per stage (for example 2,2,3), got "${values['stage-depths']}"`);
      }
      // Thresholds are per stage: keep the variant's when the stage count is unchanged, else
      // start every early exit at the first one (dytrack calibrate sets them for the trained model).
      const preset = config.defaultThresholds;
      const thresholds = depths.length === preset.length ? preset : depths.map((_, i) => (i === depths.length - 1 ? 0 : preset[0]!));
      config = modelConfig(values.variant as ModelVariant, { ...config, stageDepths: depths, defaultThresholds: thresholds });
    }
    for (const [flag, key] of [['template-size', 'templateSize'], ['search-size', 'searchSize']] as const) {
      if (values[flag] === undefined) continue;
      const side = int(values[flag], flag, 0, 1);
      if (side % config.patchSize !== 0) throw new UsageError(`--${flag} must be a multiple of the patch size ${config.patchSize}, got ${side}`);
      config = modelConfig(values.variant as ModelVariant, { ...config, [key]: side });
    }
    if (config.searchSize <= config.templateSize) throw new UsageError(`--search-size (${config.searchSize}) must be larger than --template-size (${config.templateSize})`);
    if (values['offset-input'] !== undefined) {
      const input = values['offset-input'];
      if (input !== 'trunk' && input !== 'size-branch') throw new UsageError(`--offset-input must be trunk or size-branch, got ${input}`);
      config = modelConfig(values.variant as ModelVariant, { ...config, offsetInput: input });
    }
    if (trainOnly) {
      try {
        selectParameters(config, trainOnly);
      } catch (e) {
        throw new UsageError(`--train-only: ${(e as Error).message}`);
      }
      if (values['init-from'] === undefined) io.stderr.write('--train-only without --init-from: the frozen parameters keep their random initialisation\n');
    }
    const data = parseDataSources(values.data).map((s) => (s.kind === 'dataset' ? { ...s, root: resolve(io.cwd, s.root) } : s));
    const weights: Record<string, number> = {};
    for (const pair of (values['loss-weights'] ?? '').split(',').filter((p) => p.trim() !== '')) {
      const [k, v] = pair.split('=').map((x) => x.trim());
      const known = ['giou', 'l1', 'focal', 'decision', 'feature', 'scoreKL', 'sizeDense', 'offsetDense'];
      if (!k || !known.includes(k)) throw new UsageError(`--loss-weights: unknown weight "${k ?? ''}" (known: ${known.join(', ')})`);
      weights[k] = numberOption(v, `loss-weights ${k}`, Number.NaN);
    }
    let exitWeights: number[] | undefined;
    if (values['exit-weights'] !== undefined) {
      exitWeights = values['exit-weights'].split(',').map((x) => Number(x.trim()));
      const exits = config.stageDepths.length;
      if (exitWeights.length !== exits || !exitWeights.every((x) => Number.isFinite(x) && x >= 0)) {
        throw new UsageError(`--exit-weights must be ${exits} non-negative numbers, one per exit (for example ${Array.from({ length: exits }, (_, i) => (i === 0 ? 2 : 1)).join(',')}), got "${values['exit-weights']}"`);
      }
    }
    let searchJitter: { center: number; scale: number } | undefined;
    if (values['search-jitter'] !== undefined) {
      const parts = values['search-jitter'].split(',').map((x) => Number(x.trim()));
      if (parts.length !== 2 || !parts.every((x) => Number.isFinite(x) && x >= 0)) {
        throw new UsageError(`--search-jitter must be two non-negative numbers C,S (for example 3,0.25), got "${values['search-jitter']}"`);
      }
      searchJitter = { center: parts[0]!, scale: parts[1]! };
    }
    const initFrom = values['init-from'] === undefined ? undefined : resolve(io.cwd, values['init-from']);
    let initialWeights: Map<string, Float32Array> | undefined;
    if (initFrom !== undefined) {
      // A weights file, a training checkpoint (its parameters are stored under their names),
      // or an exported model directory (weights read back from its ONNX files).
      let bytes: Uint8Array;
      try {
        if ((await stat(initFrom)).isDirectory()) {
          const model = await readModelDirectoryWeights(initFrom);
          bytes = weightsToSafetensors(model.config, model.weights);
        } else {
          bytes = new Uint8Array(await readFile(initFrom));
        }
      } catch (e) {
        if (e instanceof DyTrackError) throw new UsageError(`--init-from: ${e.message}`);
        throw new UsageError(`--init-from: cannot read ${values['init-from']} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
      }
      const resized: string[] = [];
      initialWeights = weightsFromSafetensors(config, bytes, {
        allowMissing: true,
        allowExtra: true,
        resizePositionEmbeddings: true,
        onPositionEmbeddingResized: (name, from, to) => resized.push(`${name} ${from}x${from} -> ${to}x${to}`),
      });
      if (resized.length > 0) io.stderr.write(`--init-from: position embeddings resampled to this crop size (bicubic): ${resized.join(', ')}\n`);
      const ignored = [...readSafetensors(bytes).tensors.keys()].filter((k) => !initialWeights!.has(k));
      // Optimizer state is expected in a checkpoint; any other tensor left over means the weights
      // were made for another architecture (a removed head, or a deeper stage: --stage-depths).
      const foreign = ignored.filter((k) => !k.startsWith('adam_m/') && !k.startsWith('adam_v/'));
      if (trainOnly && foreign.length > 0) {
        throw new UsageError(
          `--train-only: ${values['init-from']} has ${foreign.length} tensors this architecture lacks (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}); ` +
            'frozen parameters must come from weights of the same architecture: pass the options they were made with (a model directory records them in its dytrack.model.json; the shipped model is --stage-depths 2,2,3)',
        );
      }
      if (ignored.length > 0) {
        const what = foreign.length > 0 ? `, such as ${foreign[0]}: a removed head, or a deeper model's blocks (check --stage-depths)` : ' (optimizer state)';
        io.stderr.write(`--init-from: ignored ${ignored.length} tensors of ${values['init-from']} that are not parameters of this architecture${what}\n`);
      }
    }
    const evalSequences = int(values['eval-sequences'], 'eval-sequences', 32, 0);
    const evalDatasets = (values['eval-dataset'] ?? []).map((d) => resolve(io.cwd, d));
    const tty = io.stderr.isTTY === true;
    let lastPrinted = 0;
    const onProgress = (p: TrainProgress): void => {
      const line = formatProgressLine(p);
      if (tty) {
        const cols = io.stderr.columns ?? 100;
        io.stderr.write(`\r${line.slice(0, cols - 1).padEnd(cols - 1)}`);
      } else if (p.step === p.totalSteps || p.step - lastPrinted >= 10 || p.step <= 3) {
        lastPrinted = p.step;
        io.stderr.write(`${line}\n`);
      }
    };
    const started = Date.now();
    const result = await trainModel({
      model: config,
      data,
      steps,
      batchSize: int(values.batch, 'batch', 8, 1),
      seed: int(values.seed, 'seed', 1, 0),
      outDir: resolve(io.cwd, values.out),
      ...(values.export ? { exportDir: resolve(io.cwd, values.export) } : {}),
      lr: numberOption(values.lr, 'lr', 4e-4),
      ...(values.warmup !== undefined ? { warmupSteps: int(values.warmup, 'warmup', 0, 0) } : {}),
      decay,
      ...(Object.keys(weights).length > 0 || exitWeights || Object.keys(decisionSettings).length > 0
        ? { loss: { ...(Object.keys(weights).length > 0 || exitWeights ? { weights: { ...weights, ...(exitWeights ? { exits: exitWeights } : {}) } } : {}), ...decisionSettings } }
        : {}),
      ...(trainOnly ? { trainOnly } : {}),
      ...(searchJitter ? { searchJitter } : {}),
      ...(values['pairs-per-sequence'] !== undefined ? { pairsPerSequence: int(values['pairs-per-sequence'], 'pairs-per-sequence', 1, 1) } : {}),
      ...(minVisibility > 0 ? { minVisibility } : {}),
      ...(firstFrameTemplates > 0 ? { firstFrameTemplates } : {}),
      ...(hiddenNegatives > 0 ? { hiddenNegatives } : {}),
      ...(initialWeights ? { initialWeights, initialWeightsLabel: values['init-from'] } : {}),
      threads: int(values.threads, 'threads', 2, 1),
      checkpointEvery: int(values['checkpoint-every'], 'checkpoint-every', 100, 1),
      resume: values.resume,
      ...(values['stop-after'] !== undefined ? { stopAfter: int(values['stop-after'], 'stop-after', steps, 1) } : {}),
      workerLoader: !values['no-worker'],
      fp16: values.fp16,
      evaluation: values['no-eval'] || (evalSequences === 0 && evalDatasets.length === 0) ? false : { syntheticSequences: evalSequences, datasets: evalDatasets },
      provenance: { command: `dytrack train ${argv.join(' ')}` },
      onProgress,
      onLog: (m) => io.stderr.write(`${tty ? '\n' : ''}${m}\n`),
    });
    if (tty) io.stderr.write('\n');
    const wall = (Date.now() - started) / 1000;
    io.stdout.write(
      `steps ${result.steps}  final loss ${result.finalLoss.toFixed(4)} (ema ${result.finalSmoothedLoss.toFixed(4)})  training ${result.trainSeconds.toFixed(0)} s  wall ${wall.toFixed(0)} s\n` +
        `data loading: ${result.loader.batches} batches, ${(result.loader.produceMs / 1000).toFixed(1)} s producing, ${(result.loader.waitMs / 1000).toFixed(1)} s waited\n`,
    );
    if (result.exportDir) io.stdout.write(`model: ${result.exportDir}\n`);
    else io.stdout.write(`stopped at step ${result.steps} of ${steps}; resume with --resume\n`);
    if (result.evaluation) io.stdout.write(`${evaluationTable(result.evaluation)}\n`);
    return 0;
  },
};
