import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MANIFEST_FILE_NAME, ManifestError, ModelMismatchError } from '@dytrack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel, fromFloat16, initWeights, loadModelFromUrl, modelConfig, toFloat16, weightsFromOnnxFiles, type ExportedModel, type FetchLike } from '../src/index.js';
import { loadModelDirectory, readModelDirectoryWeights, readWeightsFile, writeModelDirectory, writeWeightsFile } from '../src/node.js';

const config = modelConfig('tiny', { templateSize: 32, searchSize: 64, dim: 32, headChannels: 16, decisionHidden: 16 });
let exported: ExportedModel;
let dir: string;

beforeAll(async () => {
  exported = await exportModel(config, initWeights(config, { seed: 4 }));
  dir = await mkdtemp(join(tmpdir(), 'dytrack-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A fetch over an in-memory file map, answering 404 for unknown paths. */
function fetchFrom(files: ReadonlyMap<string, Uint8Array>, base: string): FetchLike & { calls: string[] } {
  const calls: string[] = [];
  const f = async (url: string) => {
    calls.push(url);
    const bytes = url.startsWith(base) ? files.get(url.slice(base.length)) : undefined;
    return {
      ok: bytes !== undefined,
      status: bytes ? 200 : 404,
      statusText: bytes ? 'OK' : 'Not Found',
      arrayBuffer: async () => (bytes ? bytes.slice().buffer : new ArrayBuffer(0)),
      text: async () => (bytes ? new TextDecoder().decode(bytes) : ''),
    };
  };
  return Object.assign(f, { calls });
}

describe('loadModelDirectory', () => {
  it('loads what writeModelDirectory wrote and serves verified files', async () => {
    const sub = join(dir, 'ok');
    await writeModelDirectory(sub, exported);
    const model = await loadModelDirectory(sub);
    expect(model.manifest).toEqual(exported.manifest);
    const bytes = await model.readFile('stage1.onnx');
    expect(Buffer.from(bytes).equals(exported.files.get('stage1.onnx')!)).toBe(true);
    await expect(model.readFile('other.onnx')).rejects.toThrow(ModelMismatchError);
  });

  it('rejects a directory whose file does not match its sha256, naming the file', async () => {
    const sub = join(dir, 'corrupt');
    await writeModelDirectory(sub, exported);
    const path = join(sub, 'stage2.onnx');
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path, bytes);
    await expect(loadModelDirectory(sub)).rejects.toThrow(/stage2\.onnx: sha256 is [0-9a-f]{64} but the manifest says/);
  });

  it('hands over the bytes verified at load once, then re-reads and re-verifies', async () => {
    const sub = join(dir, 'changed-later');
    await writeModelDirectory(sub, exported);
    const model = await loadModelDirectory(sub);
    const path = join(sub, 'stage0.onnx');
    const bytes = await readFile(path);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(path, bytes);
    // The first read is the copy verified at load; a later read sees the changed file and rejects it.
    expect(Buffer.from(await model.readFile('stage0.onnx')).equals(exported.files.get('stage0.onnx')!)).toBe(true);
    await expect(model.readFile('stage0.onnx')).rejects.toThrow(/stage0\.onnx: sha256 is [0-9a-f]{64} but the manifest says/);
  });

  it('rejects a bad manifest with the path of the bad field, and a missing one clearly', async () => {
    const sub = join(dir, 'bad');
    await writeModelDirectory(sub, exported);
    const manifest = JSON.parse(await readFile(join(sub, MANIFEST_FILE_NAME), 'utf8'));
    manifest.stages[1].inputs[0].source.stage = 5;
    await writeFile(join(sub, MANIFEST_FILE_NAME), JSON.stringify(manifest));
    await expect(loadModelDirectory(sub)).rejects.toThrow(ManifestError);
    await expect(loadModelDirectory(sub)).rejects.toThrow('$.stages[1].inputs[0].source.stage');
    await expect(loadModelDirectory(join(dir, 'nowhere'))).rejects.toThrow(/cannot read .*dytrack\.model\.json \(ENOENT\)/);
  });

  it('reads and writes weights files', async () => {
    const weights = initWeights(config, { seed: 8 });
    const path = join(dir, 'w.safetensors');
    await writeWeightsFile(path, config, weights);
    const back = await readWeightsFile(path, config);
    expect(back.get('exits.2.decision.fc2.weight')).toEqual(weights.get('exits.2.decision.fc2.weight'));
  });
});

describe('weights read back from exported ONNX files', () => {
  const weights = initWeights(config, { seed: 4 });
  it('weightsFromOnnxFiles returns every parameter exactly (float32) or as stored (fp16), in any file order', async () => {
    const files = [...exported.files].filter(([f]) => f.endsWith('.onnx')).map(([, b]) => b);
    const back = weightsFromOnnxFiles(config, files.reverse());
    expect([...back.keys()].sort()).toEqual([...weights.keys()].sort());
    for (const [name, values] of weights) expect(back.get(name), name).toEqual(values);
    const half = await exportModel(config, weights, { fp16: true });
    const backHalf = weightsFromOnnxFiles(config, [...half.files].filter(([f]) => f.endsWith('.onnx')).map(([, b]) => b));
    for (const [name, values] of weights) expect(backHalf.get(name), name).toEqual(fromFloat16(toFloat16(values)));
  });
  it('names what is missing or not ONNX', () => {
    const stage0 = exported.files.get('stage0.onnx')!;
    expect(() => weightsFromOnnxFiles(config, [stage0])).toThrow(ModelMismatchError);
    expect(() => weightsFromOnnxFiles(config, [stage0])).toThrow(/parameters of .* are in none of the files \(first: backbone\.pos_embed_z/);
    expect(() => weightsFromOnnxFiles(config, [new TextEncoder().encode('not onnx at all')])).toThrow(/file 0 is not an ONNX model/);
  });
  it('readModelDirectoryWeights reads a model directory: its architecture and weights', async () => {
    const sub = join(dir, 'weights-back');
    await writeModelDirectory(sub, exported);
    const { config: back, weights: w } = await readModelDirectoryWeights(sub);
    expect(back).toEqual(config);
    for (const [name, values] of weights) expect(w.get(name), name).toEqual(values);
  });
});

describe('loadModelFromUrl', () => {
  it('fetches the manifest, then files on demand, verifying each', async () => {
    const base = 'https://models.example/tiny/';
    const f = fetchFrom(exported.files, base);
    const model = await loadModelFromUrl('https://models.example/tiny', f);
    expect(f.calls).toEqual([`${base}${MANIFEST_FILE_NAME}`]);
    expect(model.manifest.stages.length).toBe(3);
    expect(Buffer.from(await model.readFile('template.onnx')).equals(exported.files.get('template.onnx')!)).toBe(true);
    expect(f.calls.at(-1)).toBe(`${base}template.onnx`);
  });

  it('rejects tampered bytes and HTTP errors, naming the file', async () => {
    const base = 'https://models.example/m/';
    const files = new Map(exported.files);
    const tampered = files.get('stage0.onnx')!.slice();
    tampered[10] ^= 0xff;
    files.set('stage0.onnx', tampered);
    files.delete('stage1.onnx');
    const model = await loadModelFromUrl(base, fetchFrom(files, base));
    await expect(model.readFile('stage0.onnx')).rejects.toThrow(/stage0\.onnx: sha256/);
    await expect(model.readFile('stage1.onnx')).rejects.toThrow(/stage1\.onnx: HTTP 404 Not Found/);
    await expect(loadModelFromUrl('https://models.example/none/', fetchFrom(files, base))).rejects.toThrow(/dytrack\.model\.json: HTTP 404/);
    await expect(loadModelFromUrl('models/tiny', fetchFrom(files, base))).rejects.toThrow(/"models\/tiny" is not a URL/);
  });
});

describe('loadDefaultModel', () => {
  it('loads the shipped tiny model, or says how to produce it when the package has none', async () => {
    const { DEFAULT_MODEL_DIRECTORY, loadDefaultModel } = await import('../src/node.js');
    expect(DEFAULT_MODEL_DIRECTORY).toMatch(/packages[/\\]model[/\\]default[/\\]?$/);
    const shipped = await readFile(join(DEFAULT_MODEL_DIRECTORY, MANIFEST_FILE_NAME)).then(
      () => true,
      () => false,
    );
    if (shipped) {
      const model = await loadDefaultModel();
      expect(model.manifest.variant).toBe('tiny');
    } else {
      await expect(loadDefaultModel()).rejects.toThrow(/the shipped default model is missing .*dytrack train/);
    }
  });
});
