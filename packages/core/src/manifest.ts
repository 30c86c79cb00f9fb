import { ManifestError } from './errors.js';

/** The `format` field every DyTrack model manifest carries. */
export const MANIFEST_FORMAT = 'dytrack.model';
/** The manifest version this parser reads. */
export const MANIFEST_VERSION = 1;
/** Conventional file name of the manifest inside a model directory. */
export const MANIFEST_FILE_NAME = 'dytrack.model.json';

/** Element types allowed at a stage's boundary. */
export type ManifestDType = 'float32' | 'float16';

/** Where a stage input comes from. */
export type InputSource =
  /** The normalised template crop, NCHW float32 `[1, 3, t, t]`. */
  | { readonly kind: 'template-image' }
  /** The normalised search crop of the current frame, `[1, 3, s, s]`. */
  | { readonly kind: 'search-image' }
  /**
   * An output of an earlier graph: a stage index (within the current frame) or
   * `'template'`, the template encoder run once at init (across frames).
   */
  | { readonly kind: 'output'; readonly stage: number | 'template'; readonly output: string };

/** One input of a graph. */
export interface InputSpec {
  readonly name: string;
  readonly dtype: ManifestDType;
  /** Shape; strings are symbolic dimensions. */
  readonly shape: readonly (number | string)[];
  readonly source: InputSource;
}

/**
 * What an output means to the tracker:
 * - `tokens`: the token sequence after the stage's blocks (fed to the next stage);
 * - `score-map` `[1,1,n,n]` (sigmoid), `size-map` `[1,2,n,n]` (w, h as fractions
 *   of the search crop, sigmoid), `offset-map` `[1,2,n,n]` (x, y in cells);
 * - `terminating-score` `[1,1]`: the decision branch's predicted IoU;
 * - `head-features`: the exit head's features, recycled by the next exit head;
 * - `template-tokens`, `template-cache`: outputs of the template encoder;
 * - `auxiliary`: anything else (diagnostics), ignored by the tracker.
 */
export type OutputRole =
  | 'tokens'
  | 'score-map'
  | 'size-map'
  | 'offset-map'
  | 'terminating-score'
  | 'head-features'
  | 'template-tokens'
  | 'template-cache'
  | 'auxiliary';

/** Every {@link OutputRole}. */
export const OUTPUT_ROLES: readonly OutputRole[] = [
  'tokens',
  'score-map',
  'size-map',
  'offset-map',
  'terminating-score',
  'head-features',
  'template-tokens',
  'template-cache',
  'auxiliary',
];

/** One output of a graph. */
export interface OutputSpec {
  readonly name: string;
  readonly dtype: ManifestDType;
  readonly shape: readonly (number | string)[];
  readonly role: OutputRole;
}

/** An ONNX file of the model and its boundary. */
export interface GraphSpec {
  /** Path relative to the manifest's directory. */
  readonly file: string;
  /** Lower-case hex sha256 of the file's bytes. */
  readonly sha256: string;
  readonly inputs: readonly InputSpec[];
  readonly outputs: readonly OutputSpec[];
  /** Multiply-adds x2 of one run, from the configuration. */
  readonly flops?: number;
  /** Parameters in this file. */
  readonly params?: number;
}

/** A stage: some ViT blocks followed by an exit head. */
export interface StageSpec extends GraphSpec {
  readonly name: string;
  /** ViT blocks of this stage, `[start, end)`. */
  readonly blocks?: readonly [number, number];
  readonly exit: {
    /** Default threshold on the terminating score for the DyTrack exit rule. */
    readonly defaultThreshold: number;
  };
}

/** Crop geometry of one input image. */
export interface CropSpec {
  /** Side of the square network input, in pixels. */
  readonly size: number;
  /** Crop side = ceil(sqrt(w*h) * contextFactor). */
  readonly contextFactor: number;
}

/** A DyTrack model manifest (`dytrack.model.json`), DESIGN 3.2. */
export interface ModelManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly version: typeof MANIFEST_VERSION;
  readonly name: string;
  /** Architecture variant (`'tiny'`, `'base'`, ...). */
  readonly variant?: string;
  readonly input: {
    readonly template: CropSpec;
    readonly search: CropSpec;
    /** `(v/255 - mean) / std` per RGB channel. */
    readonly normalization: { readonly mean: readonly [number, number, number]; readonly std: readonly [number, number, number] };
  };
  readonly head: {
    /** Side n of the score, size and offset maps. */
    readonly mapSize: number;
    /** Search pixels per map cell. */
    readonly stride: number;
  };
  /** Graph run once at init on the template (template-cache models). */
  readonly templateEncoder?: GraphSpec;
  /** Stages in order; stage k's exit is exit k. */
  readonly stages: readonly StageSpec[];
  /** Free-form record of how the model was made: training config, data, metrics. */
  readonly provenance?: Readonly<Record<string, unknown>>;
}

const SHA256 = /^[0-9a-f]{64}$/;
const DTYPES: readonly ManifestDType[] = ['float32', 'float16'];
const REQUIRED_EXIT_ROLES: readonly OutputRole[] = ['score-map', 'size-map', 'offset-map', 'terminating-score'];

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Json {
  if (!isObject(v)) throw new ManifestError(path, 'an object', v);
  return v;
}

function onlyKeys(o: Json, path: string, allowed: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key) && !key.startsWith('x-')) {
      throw new ManifestError(`${path}.${key}`, `no such field (allowed: ${allowed.join(', ')}; extensions start with "x-")`);
    }
  }
}

function str(v: unknown, path: string): string {
  if (typeof v !== 'string' || v.length === 0) throw new ManifestError(path, 'a non-empty string', v);
  return v;
}

function num(v: unknown, path: string, what: 'positive number' | 'positive integer' | 'non-negative integer' | 'number in [0, 1]' | 'finite number' | 'non-negative number'): number {
  const ok =
    typeof v === 'number' &&
    Number.isFinite(v) &&
    (what === 'positive number'
      ? v > 0
      : what === 'positive integer'
        ? Number.isInteger(v) && v > 0
        : what === 'non-negative integer'
          ? Number.isInteger(v) && v >= 0
          : what === 'number in [0, 1]'
            ? v >= 0 && v <= 1
            : what === 'non-negative number'
              ? v >= 0
              : true);
  if (!ok) throw new ManifestError(path, `a ${what}`, v);
  return v as number;
}

function arr(v: unknown, path: string, minLength = 0): unknown[] {
  if (!Array.isArray(v)) throw new ManifestError(path, 'an array', v);
  if (v.length < minLength) throw new ManifestError(path, `an array of at least ${minLength} item${minLength === 1 ? '' : 's'}`, v);
  return v;
}

function relativeFile(v: unknown, path: string): string {
  const s = str(v, path);
  if (s.startsWith('/') || s.includes('\\') || /^[a-zA-Z]:/.test(s) || s.split('/').some((p) => p === '..' || p === '')) {
    throw new ManifestError(path, 'a relative path inside the model directory (no "..", no leading "/")', s);
  }
  return s;
}

function shape(v: unknown, path: string): (number | string)[] {
  return arr(v, path).map((d, i) => {
    if (typeof d === 'string' && d.length > 0) return d;
    return num(d, `${path}[${i}]`, 'positive integer');
  });
}

function dtype(v: unknown, path: string): ManifestDType {
  if (!DTYPES.includes(v as ManifestDType)) throw new ManifestError(path, `one of ${DTYPES.join(', ')}`, v);
  return v as ManifestDType;
}

function crop(v: unknown, path: string): CropSpec {
  const o = obj(v, path);
  onlyKeys(o, path, ['size', 'contextFactor']);
  return { size: num(o.size, `${path}.size`, 'positive integer'), contextFactor: num(o.contextFactor, `${path}.contextFactor`, 'positive number') };
}

function triple(v: unknown, path: string, what: 'finite number' | 'positive number'): [number, number, number] {
  const a = arr(v, path);
  if (a.length !== 3) throw new ManifestError(path, 'an array of 3 numbers (R, G, B)', v);
  return [num(a[0], `${path}[0]`, what), num(a[1], `${path}[1]`, what), num(a[2], `${path}[2]`, what)];
}

function source(v: unknown, path: string): InputSource {
  const o = obj(v, path);
  const kind = o.kind;
  if (kind === 'template-image' || kind === 'search-image') {
    onlyKeys(o, path, ['kind']);
    return { kind };
  }
  if (kind === 'output') {
    onlyKeys(o, path, ['kind', 'stage', 'output']);
    const stage = o.stage === 'template' ? 'template' : num(o.stage, `${path}.stage`, 'non-negative integer');
    return { kind, stage, output: str(o.output, `${path}.output`) };
  }
  throw new ManifestError(`${path}.kind`, 'one of "template-image", "search-image", "output"', kind);
}

function uniqueNames(items: readonly { name: string }[], path: string): void {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.name)) throw new ManifestError(`${path}[${i}].name`, `a unique name ("${item.name}" is repeated)`);
    seen.add(item.name);
  });
}

function graph(v: unknown, path: string, extraKeys: readonly string[]): GraphSpec & Json {
  const o = obj(v, path);
  onlyKeys(o, path, ['file', 'sha256', 'inputs', 'outputs', 'flops', 'params', ...extraKeys]);
  const file = relativeFile(o.file, `${path}.file`);
  if (typeof o.sha256 !== 'string' || !SHA256.test(o.sha256)) throw new ManifestError(`${path}.sha256`, '64 lower-case hex digits', o.sha256);
  const inputs = arr(o.inputs, `${path}.inputs`, 1).map((x, i): InputSpec => {
    const p = `${path}.inputs[${i}]`;
    const io = obj(x, p);
    onlyKeys(io, p, ['name', 'dtype', 'shape', 'source']);
    return { name: str(io.name, `${p}.name`), dtype: dtype(io.dtype, `${p}.dtype`), shape: shape(io.shape, `${p}.shape`), source: source(io.source, `${p}.source`) };
  });
  uniqueNames(inputs, `${path}.inputs`);
  const outputs = arr(o.outputs, `${path}.outputs`, 1).map((x, i): OutputSpec => {
    const p = `${path}.outputs[${i}]`;
    const oo = obj(x, p);
    onlyKeys(oo, p, ['name', 'dtype', 'shape', 'role']);
    if (!OUTPUT_ROLES.includes(oo.role as OutputRole)) throw new ManifestError(`${p}.role`, `one of ${OUTPUT_ROLES.join(', ')}`, oo.role);
    return { name: str(oo.name, `${p}.name`), dtype: dtype(oo.dtype, `${p}.dtype`), shape: shape(oo.shape, `${p}.shape`), role: oo.role as OutputRole };
  });
  uniqueNames(outputs, `${path}.outputs`);
  const flops = o.flops === undefined ? undefined : num(o.flops, `${path}.flops`, 'non-negative number');
  const params = o.params === undefined ? undefined : num(o.params, `${path}.params`, 'non-negative integer');
  return { ...o, file, sha256: o.sha256, inputs, outputs, flops, params };
}

function checkMapShape(out: OutputSpec, path: string, channels: number, n: number): void {
  if (out.shape.length !== 4) throw new ManifestError(`${path}.shape`, `a 4-d shape [batch, ${channels}, ${n}, ${n}] for ${out.role}`, out.shape);
  const [, c, h, w] = out.shape;
  if (c !== channels || h !== n || w !== n) {
    throw new ManifestError(`${path}.shape`, `[batch, ${channels}, ${n}, ${n}] for ${out.role} (head.mapSize is ${n})`, `[${out.shape.join(', ')}]`);
  }
}

/**
 * Parses and validates a model manifest. Accepts the JSON text or the parsed
 * value. Throws {@link ManifestError} whose `path` names the first bad field.
 */
export function parseManifest(input: unknown): ModelManifest {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (e) {
      throw new ManifestError('$', `valid JSON (${(e as Error).message})`);
    }
  }
  const root = obj(value, '$');
  onlyKeys(root, '$', ['$schema', 'format', 'version', 'name', 'variant', 'input', 'head', 'templateEncoder', 'stages', 'provenance']);
  if (root.format !== MANIFEST_FORMAT) throw new ManifestError('$.format', `"${MANIFEST_FORMAT}"`, root.format);
  if (root.version !== MANIFEST_VERSION) {
    throw new ManifestError('$.version', `${MANIFEST_VERSION} (this parser reads version ${MANIFEST_VERSION} manifests)`, root.version);
  }
  const name = str(root.name, '$.name');
  const variant = root.variant === undefined ? undefined : str(root.variant, '$.variant');

  const input0 = obj(root.input, '$.input');
  onlyKeys(input0, '$.input', ['template', 'search', 'normalization']);
  const norm = obj(input0.normalization, '$.input.normalization');
  onlyKeys(norm, '$.input.normalization', ['mean', 'std']);
  const inputSpec: ModelManifest['input'] = {
    template: crop(input0.template, '$.input.template'),
    search: crop(input0.search, '$.input.search'),
    normalization: { mean: triple(norm.mean, '$.input.normalization.mean', 'finite number'), std: triple(norm.std, '$.input.normalization.std', 'positive number') },
  };

  const head0 = obj(root.head, '$.head');
  onlyKeys(head0, '$.head', ['mapSize', 'stride']);
  const head = { mapSize: num(head0.mapSize, '$.head.mapSize', 'positive integer'), stride: num(head0.stride, '$.head.stride', 'positive integer') };

  const templateEncoder = root.templateEncoder === undefined ? undefined : graph(root.templateEncoder, '$.templateEncoder', []);
  if (templateEncoder) {
    templateEncoder.inputs.forEach((inp, i) => {
      if (inp.source.kind !== 'template-image') {
        throw new ManifestError(`$.templateEncoder.inputs[${i}].source.kind`, '"template-image" (the template encoder runs at init, on the template only)', inp.source.kind);
      }
    });
  }

  const stages = arr(root.stages, '$.stages', 1).map((s, k): StageSpec => {
    const path = `$.stages[${k}]`;
    const g = graph(s, path, ['name', 'blocks', 'exit']);
    const stageName = str(g.name, `${path}.name`);
    let blocks: [number, number] | undefined;
    if (g.blocks !== undefined) {
      const b = arr(g.blocks, `${path}.blocks`);
      if (b.length !== 2) throw new ManifestError(`${path}.blocks`, '[start, end) as two integers', g.blocks);
      blocks = [num(b[0], `${path}.blocks[0]`, 'non-negative integer'), num(b[1], `${path}.blocks[1]`, 'non-negative integer')];
      if (blocks[1] < blocks[0]) throw new ManifestError(`${path}.blocks[1]`, `an end >= start (${blocks[0]})`, blocks[1]);
    }
    const exit0 = obj(g.exit, `${path}.exit`);
    onlyKeys(exit0, `${path}.exit`, ['defaultThreshold']);
    const exit = { defaultThreshold: num(exit0.defaultThreshold, `${path}.exit.defaultThreshold`, 'number in [0, 1]') };
    for (const role of REQUIRED_EXIT_ROLES) {
      const count = g.outputs.filter((o) => o.role === role).length;
      if (count !== 1) throw new ManifestError(`${path}.outputs`, `exactly one output with role "${role}" (found ${count})`);
    }
    g.outputs.forEach((o, i) => {
      const p = `${path}.outputs[${i}]`;
      if (o.role === 'score-map') checkMapShape(o, p, 1, head.mapSize);
      if (o.role === 'size-map' || o.role === 'offset-map') checkMapShape(o, p, 2, head.mapSize);
      if (o.role === 'template-tokens' || o.role === 'template-cache') {
        throw new ManifestError(`${p}.role`, 'a stage role (template-tokens and template-cache belong to the template encoder)', o.role);
      }
    });
    const { file, sha256, inputs, outputs, flops, params } = g;
    const stage: StageSpec = { name: stageName, file, sha256, inputs, outputs, exit, ...(blocks ? { blocks } : {}), ...(flops !== undefined ? { flops } : {}), ...(params !== undefined ? { params } : {}) };
    return stage;
  });
  uniqueNames(stages, '$.stages');

  // Cross references: every recycled input names an output of an earlier graph.
  stages.forEach((stage, k) => {
    stage.inputs.forEach((inp, i) => {
      if (inp.source.kind !== 'output') return;
      const p = `$.stages[${k}].inputs[${i}].source`;
      const from = inp.source.stage;
      let outputs: readonly OutputSpec[];
      if (from === 'template') {
        if (!templateEncoder) throw new ManifestError(`${p}.stage`, 'an earlier stage index ("template" needs a templateEncoder)', from);
        outputs = templateEncoder.outputs;
      } else {
        if (from >= k) throw new ManifestError(`${p}.stage`, `an earlier stage index (< ${k}) or "template"`, from);
        outputs = stages[from]!.outputs;
      }
      const wanted = inp.source.output;
      if (!outputs.some((o) => o.name === wanted)) {
        throw new ManifestError(`${p}.output`, `an output of ${from === 'template' ? 'the template encoder' : `stage ${from}`} (${outputs.map((o) => o.name).join(', ')})`, inp.source.output);
      }
    });
  });

  let provenance: Record<string, unknown> | undefined;
  if (root.provenance !== undefined) provenance = obj(root.provenance, '$.provenance');

  const { mapSize, stride } = head;
  let templateEncoderOut: GraphSpec | undefined;
  if (templateEncoder) {
    const { file, sha256, inputs, outputs, flops, params } = templateEncoder;
    templateEncoderOut = { file, sha256, inputs, outputs, ...(flops !== undefined ? { flops } : {}), ...(params !== undefined ? { params } : {}) };
  }
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    name,
    ...(variant !== undefined ? { variant } : {}),
    input: inputSpec,
    head: { mapSize, stride },
    ...(templateEncoderOut ? { templateEncoder: templateEncoderOut } : {}),
    stages,
    ...(provenance ? { provenance } : {}),
  };
}

/** The output of `stage` with `role` (the first, for roles that may repeat). */
export function outputByRole(graph: GraphSpec, role: OutputRole): OutputSpec | undefined {
  return graph.outputs.find((o) => o.role === role);
}
