import { describe, expect, it } from 'vitest';
import { ManifestError, parseManifest, manifestJsonSchema, OUTPUT_ROLES, type ModelManifest } from '../src/index.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const HASH = 'a'.repeat(64);
const map = (name: string, role: string, c: number) => ({ name, dtype: 'float32', shape: [1, c, 16, 16], role });
const exitOutputs = (k: number) => [
  map(`score_${k}`, 'score-map', 1),
  map(`size_${k}`, 'size-map', 2),
  map(`offset_${k}`, 'offset-map', 2),
  { name: `iou_${k}`, dtype: 'float32', shape: [1, 1], role: 'terminating-score' },
  { name: `tokens_${k}`, dtype: 'float32', shape: [1, 320, 128], role: 'tokens' },
  { name: `head_${k}`, dtype: 'float32', shape: [1, 64, 16, 16], role: 'head-features' },
];

/** A valid three-stage manifest with a template encoder, as plain JSON. */
function validManifest(): any {
  return {
    format: 'dytrack.model',
    version: 1,
    name: 'test-model',
    variant: 'tiny',
    input: {
      template: { size: 128, contextFactor: 2 },
      search: { size: 256, contextFactor: 4 },
      normalization: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    },
    head: { mapSize: 16, stride: 16 },
    templateEncoder: {
      file: 'template.onnx',
      sha256: HASH,
      inputs: [{ name: 'template', dtype: 'float32', shape: [1, 3, 128, 128], source: { kind: 'template-image' } }],
      outputs: [{ name: 'template_tokens', dtype: 'float32', shape: [1, 64, 128], role: 'template-tokens' }],
    },
    stages: [0, 1, 2].map((k) => ({
      name: `stage${k}`,
      file: `stage${k}.onnx`,
      sha256: HASH,
      blocks: [2 * k, 2 * k + 2],
      flops: 1.2e8,
      params: 1000,
      exit: { defaultThreshold: k === 2 ? 0 : 0.7 },
      inputs:
        k === 0
          ? [
              { name: 'template_tokens', dtype: 'float32', shape: [1, 64, 128], source: { kind: 'output', stage: 'template', output: 'template_tokens' } },
              { name: 'search', dtype: 'float32', shape: [1, 3, 256, 256], source: { kind: 'search-image' } },
            ]
          : [
              { name: 'tokens_in', dtype: 'float32', shape: [1, 320, 128], source: { kind: 'output', stage: k - 1, output: `tokens_${k - 1}` } },
              { name: 'head_in', dtype: 'float32', shape: [1, 64, 16, 16], source: { kind: 'output', stage: k - 1, output: `head_${k - 1}` } },
            ],
      outputs: exitOutputs(k),
    })),
    provenance: { trainedOn: 'synthetic', steps: 1000 },
  };
}

function expectManifestError(value: unknown, path: string, message: RegExp): ManifestError {
  let caught: unknown;
  try {
    parseManifest(value);
  } catch (e) {
    caught = e;
  }
  expect(caught, `expected a ManifestError at ${path}`).toBeInstanceOf(ManifestError);
  const error = caught as ManifestError;
  expect(error.path).toBe(path);
  expect(error.code).toBe('INVALID_MANIFEST');
  expect(error.message).toContain(path);
  expect(error.message).toMatch(message);
  return error;
}

describe('parseManifest: valid manifests', () => {
  it('parses a three-stage template-encoder manifest and keeps every field', () => {
    const m: ModelManifest = parseManifest(validManifest());
    expect(m.stages).toHaveLength(3);
    expect(m.stages[1]!.inputs[0]!.source).toEqual({ kind: 'output', stage: 0, output: 'tokens_0' });
    expect(m.stages[2]!.blocks).toEqual([4, 6]);
    expect(m.stages[0]!.flops).toBe(1.2e8);
    expect(m.templateEncoder?.outputs[0]!.role).toBe('template-tokens');
    expect(m.provenance).toEqual({ trainedOn: 'synthetic', steps: 1000 });
    expect(m.input.normalization.std).toEqual([0.229, 0.224, 0.225]);
  });

  it('parses JSON text and round-trips through JSON.stringify', () => {
    const text = JSON.stringify(validManifest());
    const m = parseManifest(text);
    expect(parseManifest(JSON.stringify(m))).toEqual(m);
  });

  it('accepts a minimal single-stage manifest with no template encoder, symbolic dims and x- extensions', () => {
    const v = validManifest();
    delete v.templateEncoder;
    delete v.provenance;
    delete v.variant;
    v['x-vendor'] = { anything: true };
    v.stages = [v.stages[0]];
    v.stages[0].inputs = [
      { name: 'template', dtype: 'float32', shape: ['batch', 3, 128, 128], source: { kind: 'template-image' } },
      { name: 'search', dtype: 'float16', shape: ['batch', 3, 256, 256], source: { kind: 'search-image' } },
    ];
    const m = parseManifest(v);
    expect(m.stages).toHaveLength(1);
    expect(m.templateEncoder).toBeUndefined();
    expect(m.stages[0]!.inputs[0]!.shape[0]).toBe('batch');
  });
});

describe('parseManifest: broken manifests name the bad field', () => {
  const cases: [string, (v: any) => unknown, string, RegExp][] = [
    ['not JSON', () => '{"format": ', '$', /valid JSON/],
    ['not an object', () => [1, 2], '$', /an object, got array\(2\)/],
    ['wrong format', (v) => ((v.format = 'onnx'), v), '$.format', /"dytrack.model", got "onnx"/],
    ['future version', (v) => ((v.version = 2), v), '$.version', /this parser reads version 1.*got 2/],
    ['empty name', (v) => ((v.name = ''), v), '$.name', /non-empty string/],
    ['unknown top-level field', (v) => ((v.stage = []), v), '$.stage', /no such field/],
    ['negative crop size', (v) => ((v.input.search.size = -256), v), '$.input.search.size', /positive integer, got -256/],
    ['fractional map size', (v) => ((v.head.mapSize = 15.5), v), '$.head.mapSize', /positive integer, got 15.5/],
    ['zero std', (v) => ((v.input.normalization.std[1] = 0), v), '$.input.normalization.std[1]', /positive number, got 0/],
    ['mean of two values', (v) => ((v.input.normalization.mean = [0.5, 0.5]), v), '$.input.normalization.mean', /3 numbers/],
    ['no stages', (v) => ((v.stages = []), v), '$.stages', /at least 1 item/],
    ['bad sha256', (v) => ((v.stages[1].sha256 = 'ABC'), v), '$.stages[1].sha256', /64 lower-case hex digits, got "ABC"/],
    ['escaping file path', (v) => ((v.stages[2].file = '../evil.onnx'), v), '$.stages[2].file', /relative path inside the model directory/],
    ['unknown role', (v) => ((v.stages[0].outputs[3].role = 'iou'), v), '$.stages[0].outputs[3].role', /one of tokens, score-map/],
    ['missing score map', (v) => (v.stages[1].outputs.splice(0, 1), v), '$.stages[1].outputs', /exactly one output with role "score-map" \(found 0\)/],
    ['two size maps', (v) => (v.stages[0].outputs.push(map('size_bis', 'size-map', 2)), v), '$.stages[0].outputs', /exactly one output with role "size-map" \(found 2\)/],
    ['score map of the wrong size', (v) => ((v.stages[2].outputs[0].shape = [1, 1, 8, 8]), v), '$.stages[2].outputs[0].shape', /\[batch, 1, 16, 16\].*head.mapSize is 16/],
    ['threshold above 1', (v) => ((v.stages[0].exit.defaultThreshold = 1.5), v), '$.stages[0].exit.defaultThreshold', /number in \[0, 1\], got 1.5/],
    ['NaN threshold', (v) => ((v.stages[0].exit.defaultThreshold = NaN), v), '$.stages[0].exit.defaultThreshold', /got NaN/],
    ['missing exit', (v) => (delete v.stages[1].exit, v), '$.stages[1].exit', /an object/],
    ['reference to a later stage', (v) => ((v.stages[1].inputs[0].source.stage = 2), v), '$.stages[1].inputs[0].source.stage', /earlier stage index \(< 1\)/],
    ['reference to a missing output', (v) => ((v.stages[2].inputs[1].source.output = 'head_9'), v), '$.stages[2].inputs[1].source.output', /an output of stage 1 \(.*head_1.*\), got "head_9"/],
    ['template reference without encoder', (v) => (delete v.templateEncoder, v), '$.stages[0].inputs[0].source.stage', /"template" needs a templateEncoder/],
    ['unknown source kind', (v) => ((v.stages[0].inputs[1].source.kind = 'camera'), v), '$.stages[0].inputs[1].source.kind', /"template-image", "search-image", "output"/],
    ['duplicate input name', (v) => ((v.stages[1].inputs[1].name = 'tokens_in'), v), '$.stages[1].inputs[1].name', /unique name \("tokens_in" is repeated\)/],
    ['duplicate stage name', (v) => ((v.stages[2].name = 'stage0'), v), '$.stages[2].name', /unique name/],
    ['bad dtype', (v) => ((v.stages[0].outputs[0].dtype = 'int64'), v), '$.stages[0].outputs[0].dtype', /float32, float16, got "int64"/],
    ['zero dimension', (v) => ((v.stages[0].inputs[1].shape[2] = 0), v), '$.stages[0].inputs[1].shape[2]', /positive integer, got 0/],
    ['encoder reading the search image', (v) => ((v.templateEncoder.inputs[0].source = { kind: 'search-image' }), v), '$.templateEncoder.inputs[0].source.kind', /template-image/],
    ['blocks reversed', (v) => ((v.stages[1].blocks = [4, 2]), v), '$.stages[1].blocks[1]', /end >= start/],
    ['provenance not an object', (v) => ((v.provenance = 'yes'), v), '$.provenance', /an object, got "yes"/],
    ['stage role in encoder', (v) => ((v.stages[0].outputs[4].role = 'template-cache'), v), '$.stages[0].outputs[4].role', /template encoder/],
  ];
  for (const [name, breakIt, path, message] of cases) {
    it(`rejects ${name} at ${path}`, () => {
      expectManifestError(breakIt(validManifest()), path, message);
    });
  }
});

describe('manifest JSON Schema', () => {
  it('lists the same output roles as the parser', () => {
    const roleEnum = (manifestJsonSchema.$defs.graph.properties.outputs.items.properties.role as { enum: readonly string[] }).enum;
    expect([...roleEnum]).toEqual([...OUTPUT_ROLES]);
  });

  it('is published as packages/core/manifest.schema.json, identical to the exported constant', () => {
    const file = fileURLToPath(new URL('../manifest.schema.json', import.meta.url));
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(manifestJsonSchema);
  });
});
