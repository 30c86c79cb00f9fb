import {
  InvalidArgumentError,
  MANIFEST_FILE_NAME,
  MANIFEST_FORMAT,
  MANIFEST_VERSION,
  parseManifest,
  sha256Hex,
  type GraphSpec,
  type InputSpec,
  type ModelManifest,
  type OutputSpec,
  type StageSpec,
} from '@dytrack/core';
import { Graph, serializeModel, type Value } from '@dytrack/onnx';
import { modelGeometry, recyclesInto, type ModelConfig } from './config.js';
import { modelCost, type LayoutOptions, type ModelCost } from './cost.js';
import { addParameterInitializers, emitBlock, emitExit, emitSearchEmbedding, emitTemplateEmbedding, type RecycledExit } from './forward.js';
import { validateWeights, type ModelWeights } from './weights.js';

/** Options of {@link exportModel}. */
export interface ExportOptions extends LayoutOptions {
  /** Store weights as float16 in the ONNX files (compute and I/O stay float32). */
  readonly fp16?: boolean;
  /** Manifest name (default: the configuration's name). */
  readonly name?: string;
  /** Extra provenance merged into the manifest's (training config, data, metrics). */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

/** A staged export held in memory: the manifest and every file it names. */
export interface ExportedModel {
  /** The manifest, as {@link parseManifest} returns it. */
  readonly manifest: ModelManifest;
  /** ONNX files by manifest-relative path, plus `dytrack.model.json`. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** FLOPs and parameters per graph. */
  readonly cost: ModelCost;
}

/** File of the template encoder in an exported model directory. */
export const TEMPLATE_ENCODER_FILE = 'template.onnx';

/** File of stage `k` in an exported model directory. */
export function stageFileName(k: number): string {
  return `stage${k}.onnx`;
}

/** ONNX input/output names of the staged export (stable: they are the manifest's contract). */
export const STAGE_IO = {
  templateImage: 'template_image',
  searchImage: 'search_image',
  templateTokens: 'template_tokens',
  templateKeys: (block: number): string => `template_keys_${block}`,
  templateValues: (block: number): string => `template_values_${block}`,
  tokensIn: 'tokens_in',
  previousHeadFeatures: 'prev_head_features',
  previousScoreMap: 'prev_score_map',
  tokens: 'tokens',
  headFeatures: 'head_features',
  scoreMap: 'score_map',
  sizeMap: 'size_map',
  offsetMap: 'offset_map',
  terminatingScore: 'terminating_score',
} as const;

interface BuiltGraph {
  readonly graph: Graph;
  readonly inputs: InputSpec[];
  readonly outputs: OutputSpec[];
}

/**
 * Exports `config` with `weights` as one ONNX file per stage plus the
 * template encoder and the manifest (DESIGN 3.2): stage k+1's inputs name
 * stage k's outputs; with `templateCache` the template encoder outputs every
 * block's keys and values and stages carry only search tokens. Batch 1,
 * float32 I/O, opset 18.
 */
export async function exportModel(config: ModelConfig, weights: ModelWeights, options: ExportOptions = {}): Promise<ExportedModel> {
  validateWeights(config, weights);
  const cache = options.templateCache === true;
  if (cache && config.templateAttention !== 'self') {
    throw new InvalidArgumentError('exportModel: templateCache needs an architecture with templateAttention "self" (template tokens must not attend to search tokens)');
  }
  const geo = modelGeometry(config);
  const cost = modelCost(config, { templateCache: cache });
  const D = config.dim;
  const H = config.heads;
  const Nt = geo.templateTokens;
  const Ns = geo.searchTokens;
  const n = geo.mapSize;
  const C = config.headChannels;
  const K = config.stageDepths.length;
  const storage = options.fp16 ? 'float16' : 'float32';
  const kvShape = [1, H, Nt, geo.headDim];
  const tokensShape = cache ? [1, Ns, D] : [1, Nt + Ns, D];

  // Template encoder.
  const template = ((): BuiltGraph => {
    const g = new Graph({ name: `${config.name}-template`, dtype: 'float32' });
    const image = g.input(STAGE_IO.templateImage, 'float32', [1, 3, config.templateSize, config.templateSize]);
    const p = addParameterInitializers(g, config, weights, { names: cost.templateEncoder.parameterNames, storage });
    const inputs: InputSpec[] = [{ name: image.name, dtype: 'float32', shape: image.shape as number[], source: { kind: 'template-image' } }];
    const outputs: OutputSpec[] = [];
    let z = emitTemplateEmbedding(g, config, p, image);
    if (!cache) {
      g.output(z, STAGE_IO.templateTokens);
      outputs.push({ name: STAGE_IO.templateTokens, dtype: 'float32', shape: [1, Nt, D], role: 'template-tokens' });
    } else {
      for (let b = 0; b < geo.depth; b++) {
        const last = b === geo.depth - 1;
        const r = emitBlock(g, config, p, b, z, { kind: 'joint' }, last);
        g.output(r.keys, STAGE_IO.templateKeys(b));
        g.output(r.values, STAGE_IO.templateValues(b));
        outputs.push({ name: STAGE_IO.templateKeys(b), dtype: 'float32', shape: kvShape, role: 'template-cache' });
        outputs.push({ name: STAGE_IO.templateValues(b), dtype: 'float32', shape: kvShape, role: 'template-cache' });
        if (!last) z = r.tokens!;
      }
    }
    return { graph: g, inputs, outputs };
  })();

  const stages: BuiltGraph[] = geo.stageBlocks.map(([start, end], k): BuiltGraph => {
    const g = new Graph({ name: `${config.name}-stage${k}`, dtype: 'float32' });
    const inputs: InputSpec[] = [];
    const outputs: OutputSpec[] = [];
    const input = (name: string, shape: number[], source: InputSpec['source']): Value => {
      inputs.push({ name, dtype: 'float32', shape, source });
      return g.input(name, 'float32', shape);
    };
    let tokens: Value;
    let recycled: RecycledExit | undefined;
    if (k === 0) {
      const templateTokens = cache ? undefined : input(STAGE_IO.templateTokens, [1, Nt, D], { kind: 'output', stage: 'template', output: STAGE_IO.templateTokens });
      const image = input(STAGE_IO.searchImage, [1, 3, config.searchSize, config.searchSize], { kind: 'search-image' });
      const p0 = addParameterInitializers(g, config, weights, { names: cost.stages[0]!.parameterNames, storage });
      const search = emitSearchEmbedding(g, config, p0, image);
      tokens = templateTokens ? g.concat([templateTokens, search], 1) : search;
      return finish(g, p0, tokens, undefined);
    }
    tokens = input(STAGE_IO.tokensIn, tokensShape, { kind: 'output', stage: k - 1, output: STAGE_IO.tokens });
    recycled = !recyclesInto(config, k) ? undefined : {
      headFeatures: input(STAGE_IO.previousHeadFeatures, [1, Ns, C], { kind: 'output', stage: k - 1, output: STAGE_IO.headFeatures }),
      scoreMap: input(STAGE_IO.previousScoreMap, [1, 1, n, n], { kind: 'output', stage: k - 1, output: STAGE_IO.scoreMap }),
    };
    const p = addParameterInitializers(g, config, weights, { names: cost.stages[k]!.parameterNames, storage });
    return finish(g, p, tokens, recycled);

    function finish(g: Graph, p: ReadonlyMap<string, Value>, x: Value, prev: RecycledExit | undefined): BuiltGraph {
      for (let b = start; b < end; b++) {
        if (cache) {
          const keys = input(STAGE_IO.templateKeys(b), kvShape, { kind: 'output', stage: 'template', output: STAGE_IO.templateKeys(b) });
          const values = input(STAGE_IO.templateValues(b), kvShape, { kind: 'output', stage: 'template', output: STAGE_IO.templateValues(b) });
          x = emitBlock(g, config, p, b, x, { kind: 'cached', template: { keys, values } }).tokens!;
        } else {
          x = emitBlock(g, config, p, b, x, config.templateAttention === 'self' ? { kind: 'template-self' } : { kind: 'joint' }).tokens!;
        }
      }
      const search = cache ? x : g.slice(x, [Nt], [Nt + Ns], [1]);
      const exit = emitExit(g, config, p, k, search, prev);
      const out = (v: Value, name: string, shape: number[], role: OutputSpec['role']): void => {
        g.output(v, name);
        outputs.push({ name, dtype: 'float32', shape, role });
      };
      out(exit.scoreMap, STAGE_IO.scoreMap, [1, 1, n, n], 'score-map');
      out(exit.sizeMap, STAGE_IO.sizeMap, [1, 2, n, n], 'size-map');
      out(exit.offsetMap, STAGE_IO.offsetMap, [1, 2, n, n], 'offset-map');
      out(exit.terminatingScore, STAGE_IO.terminatingScore, [1, 1], 'terminating-score');
      if (k < K - 1) {
        out(x, STAGE_IO.tokens, tokensShape, 'tokens');
        if (recyclesInto(config, k + 1)) out(exit.headFeatures, STAGE_IO.headFeatures, [1, Ns, C], 'head-features');
      }
      return { graph: g, inputs, outputs };
    }
  });

  const files = new Map<string, Uint8Array>();
  const metadata = { 'dytrack.variant': config.variant, 'dytrack.storage': storage };
  const describe = async (built: BuiltGraph, file: string, c: { flops: number; params: number }): Promise<GraphSpec> => {
    const serialized = serializeModel(built.graph, { producerName: '@dytrack/model', metadata });
    // A plain Uint8Array view (the serialiser may hand back a Node Buffer).
    const bytes = new Uint8Array(serialized.buffer, serialized.byteOffset, serialized.byteLength);
    files.set(file, bytes);
    return { file, sha256: await sha256Hex(bytes), inputs: built.inputs, outputs: built.outputs, flops: c.flops, params: c.params };
  };
  const templateEncoder = await describe(template, TEMPLATE_ENCODER_FILE, cost.templateEncoder);
  const stageSpecs: StageSpec[] = [];
  for (let k = 0; k < K; k++) {
    const spec = await describe(stages[k]!, stageFileName(k), cost.stages[k]!);
    stageSpecs.push({ name: `stage${k}`, ...spec, blocks: [geo.stageBlocks[k]![0], geo.stageBlocks[k]![1]], exit: { defaultThreshold: config.defaultThresholds[k]! } });
  }
  const manifestValue = {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name: options.name ?? config.name,
    variant: config.variant,
    input: {
      template: { size: config.templateSize, contextFactor: config.templateContextFactor },
      search: { size: config.searchSize, contextFactor: config.searchContextFactor },
      normalization: { mean: [...config.normalization.mean], std: [...config.normalization.std] },
    },
    head: { mapSize: n, stride: geo.stride },
    templateEncoder,
    stages: stageSpecs,
    provenance: {
      generator: '@dytrack/model exportModel',
      architecture: config,
      storage,
      templateCache: cache,
      fullDepthFlops: cost.fullDepthFlops,
      totalParams: cost.totalParams,
      ...options.provenance,
    },
  };
  // Self-check: what we write must be what the tracker's parser accepts.
  const manifest = parseManifest(JSON.parse(JSON.stringify(manifestValue)));
  files.set(MANIFEST_FILE_NAME, new TextEncoder().encode(JSON.stringify(manifestValue, null, 2) + '\n'));
  return { manifest, files, cost };
}
