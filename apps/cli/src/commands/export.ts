import { resolve } from 'node:path';
import { MANIFEST_FILE_NAME } from '@dytrack/core';
import { exportModel, initWeights, modelConfig, type ModelVariant, type TemplateAttention } from '@dytrack/model';
import { readWeightsFile, writeModelDirectory } from '@dytrack/model/node';
import { numberOption, parseOptions, UsageError, type Command } from '../command.js';

const HELP = `Usage: dytrack export --variant tiny|base --out DIR [--weights FILE.safetensors] [options]

Writes a staged DyTrack model: one ONNX file per stage, the template encoder
(run once at init) and dytrack.model.json (sha256, FLOPs and parameters per
stage). Without --weights the model is randomly initialised with a fixed seed
(for tests and timing; it does not track).

Options:
  --variant NAME              architecture: tiny (default model) or base (ViT-B/16, OSTrack-256)
  --out DIR                   output directory (created if needed)
  --weights FILE              .safetensors weights (names: see @dytrack/model's README)
  --fp16                      store weights as float16 (half the size; I/O stays float32)
  --template-cache            cache the template's per-block keys and values at init; implies
                              --template-attention self (use only with weights trained that way)
  --template-attention MODE   joint (default: template and search attend to each other) or
                              self (template tokens attend only to the template)
  --seed N                    seed of the random initialisation (default 0)
  --name NAME                 model name in the manifest

Examples:
  dytrack export --variant tiny --out models/tiny-random
  dytrack export --variant tiny --weights tiny.safetensors --out models/tiny --template-cache
`;

function format(n: number, digits = 3): string {
  return n.toFixed(digits);
}

/** `dytrack export`: staged ONNX export of a model (logic in `@dytrack/model`). */
export const exportCommand: Command = {
  name: 'export',
  summary: 'export a model as staged ONNX files plus dytrack.model.json',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseOptions(argv, {
      variant: { type: 'string', default: 'tiny' },
      out: { type: 'string' },
      weights: { type: 'string' },
      fp16: { type: 'boolean', default: false },
      'template-cache': { type: 'boolean', default: false },
      'template-attention': { type: 'string' },
      seed: { type: 'string' },
      name: { type: 'string' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (see dytrack export --help)`);
    const variant = values.variant;
    if (variant !== 'tiny' && variant !== 'base') throw new UsageError(`--variant must be tiny or base, got "${variant}"`);
    if (!values.out) throw new UsageError('--out DIR is required');
    const cache = values['template-cache'];
    const attention = values['template-attention'] ?? (cache ? 'self' : 'joint');
    if (attention !== 'joint' && attention !== 'self') throw new UsageError(`--template-attention must be joint or self, got "${attention}"`);
    if (cache && attention !== 'self') throw new UsageError('--template-cache needs --template-attention self');
    const seed = numberOption(values.seed, 'seed', 0);
    if (!Number.isInteger(seed) || seed < 0) throw new UsageError(`--seed must be a non-negative integer, got ${seed}`);

    const config = modelConfig(variant as ModelVariant, { templateAttention: attention as TemplateAttention });
    const weightsPath = values.weights ? resolve(io.cwd, values.weights) : undefined;
    const weights = weightsPath ? await readWeightsFile(weightsPath, config) : initWeights(config, { seed });
    const exported = await exportModel(config, weights, {
      templateCache: cache,
      fp16: values.fp16,
      ...(values.name ? { name: values.name } : {}),
      provenance: { weights: weightsPath ? { file: weightsPath } : { randomInit: true, seed } },
    });
    const out = resolve(io.cwd, values.out);
    await writeModelDirectory(out, exported);

    const { manifest } = exported;
    const rows = [manifest.templateEncoder!, ...manifest.stages].map((g, i) => {
      const label = i === 0 ? 'template (init)' : `stage${i - 1} [${manifest.stages[i - 1]!.blocks!.join(', ')})`;
      return [label, g.file, format((g.flops ?? 0) / 1e9), format((g.params ?? 0) / 1e6), format(exported.files.get(g.file)!.byteLength / 1e6, 2)];
    });
    const header = ['graph', 'file', 'GFLOP', 'Mparams', 'MB'];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
    const line = (r: string[]): string => r.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
    io.stdout.write(
      [
        `exported ${manifest.name} (${variant}, ${attention} template attention${cache ? ', template cache' : ''}, ${values.fp16 ? 'fp16' : 'fp32'} weights, ${weightsPath ? 'weights from ' + weightsPath : `random init seed ${seed}`})`,
        line(header),
        ...rows.map(line),
        `full depth per frame: ${format(exported.cost.fullDepthFlops / 1e9)} GFLOP; ${format(exported.cost.totalParams / 1e6)} M parameters`,
        `wrote ${resolve(out, MANIFEST_FILE_NAME)}`,
        '',
      ].join('\n'),
    );
    return 0;
  },
};
