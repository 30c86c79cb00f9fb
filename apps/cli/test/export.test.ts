import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initWeights, modelConfig, parameterSpecs, readSafetensors, weightsToSafetensors, writeSafetensors } from '@dytrack/model';
import { loadModelDirectory } from '@dytrack/model/node';
import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runInProcess } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dytrack-cli-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (args: string[]) => runInProcess(args, dir);

describe('dytrack export', () => {
  it('writes a loadable staged model and prints FLOPs and parameters per stage', async () => {
    const { code, stdout } = await run(['export', '--variant', 'tiny', '--out', 'tiny-cache', '--template-cache', '--fp16', '--seed', '3']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/stage2 \[4, 6\)\s+stage2\.onnx\s+0\.\d{3}\s+0\.\d{3}/);
    expect(stdout).toMatch(/full depth per frame: 1\.043 GFLOP/);
    const model = await loadModelDirectory(join(dir, 'tiny-cache'));
    expect(model.manifest.variant).toBe('tiny');
    expect(model.manifest.templateEncoder!.outputs[0]!.role).toBe('template-cache');
    expect(model.manifest.provenance).toMatchObject({ storage: 'float16', templateCache: true, weights: { randomInit: true, seed: 3 } });
  });

  it('exports given weights and names a missing tensor', async () => {
    const config = modelConfig('tiny');
    const bytes = weightsToSafetensors(config, initWeights(config, { seed: 1 }));
    await writeFile(join(dir, 'ok.safetensors'), bytes);
    const ok = await run(['export', '--weights', 'ok.safetensors', '--out', 'from-weights']);
    expect(ok.code).toBe(0);
    expect((await loadModelDirectory(join(dir, 'from-weights'))).manifest.provenance).toMatchObject({ weights: { file: join(dir, 'ok.safetensors') } });
    const missing = parameterSpecs(config)[5]!.name;
    await writeFile(join(dir, 'bad.safetensors'), writeSafetensors([...readSafetensors(bytes).tensors].filter(([n]) => n !== missing)));
    const bad = await run(['export', '--weights', 'bad.safetensors', '--out', 'bad']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`tensor "${missing}": missing`);
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await run(['export', '--variant', 'huge', '--out', 'x'])).stderr).toMatch(/--variant must be tiny or base/);
    expect((await run(['export', '--variant', 'tiny'])).code).toBe(2);
    const r = await run(['export', '--out', 'x', '--template-cache', '--template-attention', 'joint']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--template-cache needs --template-attention self/);
  });
});
