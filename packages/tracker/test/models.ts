/**
 * Test models for the tracker: real ONNX graphs (built with onnx-proto) whose
 * exits produce KNOWN maps, so that every decoded box can be computed by hand.
 */
import onnxProto from 'onnx-proto';
import { inMemoryModel, parseManifest, sha256Hex } from '@dytrack/core';
import type { ModelSource } from '@dytrack/core';

const { onnx } = onnxProto;

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, number | number[]>;
}
export interface Graph {
  inputs: [string, number[]][];
  outputs: [string, number[]][];
  nodes: Node[];
  consts?: Record<string, { dims: number[]; values: number[] }>;
}

/** Serialises a float32 graph (opset 17). */
export function buildOnnx(name: string, g: Graph): Uint8Array {
  const vi = ([n, shape]: [string, number[]]) => ({ name: n, type: { tensorType: { elemType: 1, shape: { dim: shape.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'dytrack-tracker-tests',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name,
      input: g.inputs.map(vi),
      output: g.outputs.map(vi),
      initializer: Object.entries(g.consts ?? {}).map(([n, c]) => {
        const data = Float32Array.from(c.values);
        return { name: n, dataType: 1, dims: c.dims, rawData: new Uint8Array(data.buffer) };
      }),
      node: g.nodes.map((nd, i) => ({
        name: `${nd.op}_${i}`,
        opType: nd.op,
        input: nd.inputs,
        output: nd.outputs,
        attribute: Object.entries(nd.attrs ?? {}).map(([k, v]) =>
          Array.isArray(v) ? { name: k, type: onnx.AttributeProto.AttributeType.INTS, ints: v } : { name: k, type: onnx.AttributeProto.AttributeType.INT, i: v },
        ),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** An n x n map that is `peak` at (ix, iy) and `rest` elsewhere. */
export function peakMap(n: number, ix: number, iy: number, peak: number, rest = 0): number[] {
  const m = new Array<number>(n * n).fill(rest);
  m[iy * n + ix] = peak;
  return m;
}

/** A [1, 2, n, n] map that is (a, b) at (ix, iy) and (fillA, fillB) elsewhere. */
export function pairMap(n: number, ix: number, iy: number, a: number, b: number, fillA = 0.1, fillB = 0.1): number[] {
  return [...peakMap(n, ix, iy, a, fillA), ...peakMap(n, ix, iy, b, fillB)];
}

/** One exit's known head: where the score peaks, its offsets and sizes, its terminating score. */
export interface ExitSpec {
  ix: number;
  iy: number;
  peak: number;
  offset: [number, number];
  size: [number, number];
  terminating: number;
  /** Score-map value off the peak (default 0). */
  rest?: number;
}

/** Map side, template side and search side of a test model. */
export interface Geometry {
  n: number;
  template: number;
  search: number;
}
/** The small geometry of the unit tests. */
export const SMALL: Geometry = { n: 4, template: 16, search: 32 };
// Geometry of the model being built (set by the builders below; they run one at a time).
let N = SMALL.n;
let TEMPLATE = SMALL.template;
let SEARCH = SMALL.search;
function use(g: Geometry): void {
  N = g.n;
  TEMPLATE = g.template;
  SEARCH = g.search;
}

function headConsts(k: number, e: ExitSpec, pattern: boolean) {
  return {
    ...(pattern ? { [`pattern${k}`]: { dims: [1, 1, N, N], values: peakMap(N, e.ix, e.iy, e.peak, e.rest ?? 0) } } : {}),
    [`sizec${k}`]: { dims: [1, 2, N, N], values: pairMap(N, e.ix, e.iy, e.size[0], e.size[1]) },
    [`offsetc${k}`]: { dims: [1, 2, N, N], values: pairMap(N, e.ix, e.iy, e.offset[0], e.offset[1], 0.3, 0.3) },
    [`tsc${k}`]: { dims: [1, 1], values: [e.terminating] },
  };
}

function headNodes(k: number): Node[] {
  return [
    { op: 'Identity', inputs: [`sizec${k}`], outputs: [`size${k}`] },
    { op: 'Identity', inputs: [`offsetc${k}`], outputs: [`offset${k}`] },
    { op: 'Identity', inputs: [`tsc${k}`], outputs: [`ts${k}`] },
  ];
}

const mapOutputs = (k: number): [string, number[]][] => [
  [`score${k}`, [1, 1, N, N]],
  [`size${k}`, [1, 2, N, N]],
  [`offset${k}`, [1, 2, N, N]],
  [`ts${k}`, [1, 1]],
];
const mapManifest = (k: number) => [
  { name: `score${k}`, dtype: 'float32', shape: [1, 1, N, N], role: 'score-map' },
  { name: `size${k}`, dtype: 'float32', shape: [1, 2, N, N], role: 'size-map' },
  { name: `offset${k}`, dtype: 'float32', shape: [1, 2, N, N], role: 'offset-map' },
  { name: `ts${k}`, dtype: 'float32', shape: [1, 1], role: 'terminating-score' },
];
const img = (name: string, side: number, kind: 'template-image' | 'search-image') => ({ name, dtype: 'float32', shape: [1, 3, side, side], source: { kind } });
const rec = (name: string, shape: number[], stage: number | 'template', output: string) => ({ name, dtype: 'float32', shape, source: { kind: 'output', stage, output } });

interface Built {
  manifestJson: Record<string, unknown>;
  files: Record<string, Uint8Array>;
}

async function finish(b: Built): Promise<ModelSource> {
  const json = b.manifestJson as { templateEncoder?: { file: string; sha256: string }; stages: { file: string; sha256: string }[] };
  for (const g of [json.templateEncoder, ...json.stages]) if (g) g.sha256 = await sha256Hex(b.files[g.file]!);
  return inMemoryModel(parseManifest(json), b.files);
}

const baseManifest = () => ({
  format: 'dytrack.model',
  version: 1,
  input: { template: { size: TEMPLATE, contextFactor: 2 }, search: { size: SEARCH, contextFactor: 4 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
  head: { mapSize: N, stride: SEARCH / N },
});

/**
 * A staged model whose exits ignore everything but a brightness factor m:
 * - stage 0: tokens0 = max over the search crop (m = v/255 for a uniform frame,
 *   mean 0 and std 1); score0 = pattern0 * m; hf0 = exit 1's pattern.
 * - stage k > 0: score_k = hf_in (the previous exit's head features) * tokens_in,
 *   so exit k's maps are only right if stage k-1's outputs were recycled into it.
 * Sizes, offsets and terminating scores are constants.
 */
export async function stagedModel(
  exits: ExitSpec[],
  options: { renameInput?: [number, string, string]; extraOutput?: number; geometry?: Geometry } = {},
): Promise<ModelSource> {
  use(options.geometry ?? SMALL);
  const files: Record<string, Uint8Array> = {};
  const stages = exits.map((e, k) => {
    const last = k === exits.length - 1;
    const next = exits[k + 1];
    const consts: Graph['consts'] = { ...headConsts(k, e, k === 0) };
    if (next) consts[`hfc${k}`] = { dims: [1, 1, N, N], values: peakMap(N, next.ix, next.iy, next.peak, next.rest ?? 0) };
    const nodes: Node[] = [...headNodes(k)];
    let inputs: [string, number[]][];
    const manifestInputs: unknown[] = [];
    if (k === 0) {
      inputs = [['template', [1, 3, TEMPLATE, TEMPLATE]], ['search', [1, 3, SEARCH, SEARCH]]];
      manifestInputs.push(img('template', TEMPLATE, 'template-image'), img('search', SEARCH, 'search-image'));
      nodes.push({ op: 'ReduceMax', inputs: ['search'], outputs: ['tokens0'], attrs: { keepdims: 1 } });
      nodes.push({ op: 'Mul', inputs: ['pattern0', 'tokens0'], outputs: ['score0'] });
    } else {
      inputs = [['tokens_in', [1, 1, 1, 1]], ['hf_in', [1, 1, N, N]]];
      manifestInputs.push(rec('tokens_in', [1, 1, 1, 1], k - 1, `tokens${k - 1}`), rec('hf_in', [1, 1, N, N], k - 1, `hf${k - 1}`));
      nodes.push({ op: 'Mul', inputs: ['hf_in', 'tokens_in'], outputs: [`score${k}`] });
      if (!last) nodes.push({ op: 'Identity', inputs: ['tokens_in'], outputs: [`tokens${k}`] });
    }
    const outputs: [string, number[]][] = [...mapOutputs(k)];
    const manifestOutputs: unknown[] = [...mapManifest(k)];
    if (!last) {
      nodes.push({ op: 'Identity', inputs: [`hfc${k}`], outputs: [`hf${k}`] });
      outputs.push([`tokens${k}`, [1, 1, 1, 1]], [`hf${k}`, [1, 1, N, N]]);
      manifestOutputs.push(
        { name: `tokens${k}`, dtype: 'float32', shape: [1, 1, 1, 1], role: 'tokens' },
        { name: `hf${k}`, dtype: 'float32', shape: [1, 1, N, N], role: 'head-features' },
      );
    }
    if (options.extraOutput === k) {
      nodes.push({ op: 'Identity', inputs: [`tsc${k}`], outputs: ['debug'] });
      outputs.push(['debug', [1, 1]]);
    }
    if (options.renameInput && options.renameInput[0] === k) {
      const [, from, to] = options.renameInput;
      (manifestInputs.find((i) => (i as { name: string }).name === from) as { name: string }).name = to;
    }
    const file = `stage${k}.onnx`;
    files[file] = buildOnnx(`stage${k}`, { inputs, outputs, nodes, consts });
    return { name: `s${k}`, file, sha256: '', exit: { defaultThreshold: 0.5 }, inputs: manifestInputs, outputs: manifestOutputs };
  });
  return finish({ manifestJson: { ...baseManifest(), name: 'known-maps', stages }, files });
}

/**
 * A template-cache model (two stages):
 * - template encoder: tpl_tokens = max over the template crop (t), tpl_kv = 2 * t, tpl_aux (unused by stages).
 * - stage 0: score0 = pattern0 * tpl_tokens (the template seen at init), tokens0 = max over the search crop.
 * - stage 1: score1 = hf_in * tokens_in * tpl_kv / 2.
 */
export async function templateCacheModel(exits: [ExitSpec, ExitSpec]): Promise<ModelSource> {
  use(SMALL);
  const files: Record<string, Uint8Array> = {};
  files['encoder.onnx'] = buildOnnx('encoder', {
    inputs: [['template', [1, 3, TEMPLATE, TEMPLATE]]],
    outputs: [['tpl_tokens', [1, 1, 1, 1]], ['tpl_kv', [1, 1, 1, 1]], ['tpl_aux', [1, 1]]],
    consts: { two: { dims: [1], values: [2] }, auxc: { dims: [1, 1], values: [7] } },
    nodes: [
      { op: 'ReduceMax', inputs: ['template'], outputs: ['tpl_tokens'], attrs: { keepdims: 1 } },
      { op: 'Mul', inputs: ['tpl_tokens', 'two'], outputs: ['tpl_kv'] },
      { op: 'Identity', inputs: ['auxc'], outputs: ['tpl_aux'] },
    ],
  });
  const [e0, e1] = exits;
  files['stage0.onnx'] = buildOnnx('stage0', {
    inputs: [['search', [1, 3, SEARCH, SEARCH]], ['tpl', [1, 1, 1, 1]]],
    outputs: [...mapOutputs(0), ['tokens0', [1, 1, 1, 1]], ['hf0', [1, 1, N, N]]],
    consts: { ...headConsts(0, e0, true), hfc0: { dims: [1, 1, N, N], values: peakMap(N, e1.ix, e1.iy, e1.peak) } },
    nodes: [
      ...headNodes(0),
      { op: 'Mul', inputs: ['pattern0', 'tpl'], outputs: ['score0'] },
      { op: 'ReduceMax', inputs: ['search'], outputs: ['tokens0'], attrs: { keepdims: 1 } },
      { op: 'Identity', inputs: ['hfc0'], outputs: ['hf0'] },
    ],
  });
  files['stage1.onnx'] = buildOnnx('stage1', {
    inputs: [['tokens_in', [1, 1, 1, 1]], ['hf_in', [1, 1, N, N]], ['kv', [1, 1, 1, 1]]],
    outputs: mapOutputs(1),
    consts: { ...headConsts(1, e1, false), half: { dims: [1], values: [0.5] } },
    nodes: [
      ...headNodes(1),
      { op: 'Mul', inputs: ['hf_in', 'tokens_in'], outputs: ['a1'] },
      { op: 'Mul', inputs: ['a1', 'kv'], outputs: ['b1'] },
      { op: 'Mul', inputs: ['b1', 'half'], outputs: ['score1'] },
    ],
  });
  const manifestJson = {
    ...baseManifest(),
    name: 'template-cache',
    templateEncoder: {
      file: 'encoder.onnx', sha256: '',
      inputs: [img('template', TEMPLATE, 'template-image')],
      outputs: [
        { name: 'tpl_tokens', dtype: 'float32', shape: [1, 1, 1, 1], role: 'template-tokens' },
        { name: 'tpl_kv', dtype: 'float32', shape: [1, 1, 1, 1], role: 'template-cache' },
        { name: 'tpl_aux', dtype: 'float32', shape: [1, 1], role: 'auxiliary' },
      ],
    },
    stages: [
      {
        name: 's0', file: 'stage0.onnx', sha256: '', exit: { defaultThreshold: 0.5 },
        inputs: [img('search', SEARCH, 'search-image'), rec('tpl', [1, 1, 1, 1], 'template', 'tpl_tokens')],
        outputs: [...mapManifest(0), { name: 'tokens0', dtype: 'float32', shape: [1, 1, 1, 1], role: 'tokens' }, { name: 'hf0', dtype: 'float32', shape: [1, 1, N, N], role: 'head-features' }],
      },
      {
        name: 's1', file: 'stage1.onnx', sha256: '', exit: { defaultThreshold: 0.5 },
        inputs: [rec('tokens_in', [1, 1, 1, 1], 0, 'tokens0'), rec('hf_in', [1, 1, N, N], 0, 'hf0'), rec('kv', [1, 1, 1, 1], 'template', 'tpl_kv')],
        outputs: mapManifest(1),
      },
    ],
  };
  return finish({ manifestJson, files });
}

/** A uniform RGBA frame of value v. */
export function uniformFrame(width: number, height: number, v: number) {
  return { data: new Uint8Array(width * height * 4).fill(v), width, height, format: 'rgba' as const };
}
