import { describe, expect, it } from 'vitest';
import { DisposedError, InvalidStateError, ModelMismatchError, parseManifest } from '@dytrack/core';
import type { BackendTensor, HostTensor, TensorDataMap } from '@dytrack/core';
import { createRecycler, planRecycling } from '@dytrack/recycling';

/**
 * A host-memory BackendTensor that counts its releases: the recycler only
 * ever feeds tensors on and disposes them, so this is the whole contract it
 * touches. (The tracker's tests run the same code on onnxruntime tensors.)
 */
class CountingTensor implements BackendTensor<'float32'> {
  readonly dtype = 'float32' as const;
  readonly location = 'cpu' as const;
  disposeCalls = 0;
  constructor(readonly label: string, readonly data: Float32Array = new Float32Array(4), readonly dims: readonly number[] = [1, 4]) {}
  async download(): Promise<TensorDataMap['float32']> {
    return this.data;
  }
  dispose(): void {
    this.disposeCalls++;
  }
}

const SHA = '0'.repeat(64);
const f32 = (name: string, shape: (number | string)[], role: string) => ({ name, dtype: 'float32', shape, role });
const input = (name: string, source: object) => ({ name, dtype: 'float32', shape: [1, 4], source });
const maps = (k: number) => [
  f32(`score${k}`, [1, 1, 4, 4], 'score-map'),
  f32(`size${k}`, [1, 2, 4, 4], 'size-map'),
  f32(`offset${k}`, [1, 2, 4, 4], 'offset-map'),
  f32(`ts${k}`, [1, 1], 'terminating-score'),
];
const common = {
  format: 'dytrack.model', version: 1,
  input: { template: { size: 16, contextFactor: 2 }, search: { size: 32, contextFactor: 4 }, normalization: { mean: [0, 0, 0], std: [1, 1, 1] } },
  head: { mapSize: 4, stride: 8 },
};

/** A template-cache model: stage 2 also reads stage 0's tokens (skip connection). */
const cacheManifest = parseManifest({
  ...common, name: 'cache',
  templateEncoder: {
    file: 'enc.onnx', sha256: SHA,
    inputs: [input('template', { kind: 'template-image' })],
    outputs: [f32('tpl_tokens', [1, 4], 'template-tokens'), f32('tpl_kv', [1, 4], 'template-cache'), f32('tpl_debug', [1, 4], 'auxiliary')],
  },
  stages: [
    {
      name: 's0', file: 's0.onnx', sha256: SHA, exit: { defaultThreshold: 0.5 },
      inputs: [input('search', { kind: 'search-image' }), input('tpl', { kind: 'output', stage: 'template', output: 'tpl_tokens' }), input('kv', { kind: 'output', stage: 'template', output: 'tpl_kv' })],
      outputs: [f32('tokens0', [1, 4], 'tokens'), ...maps(0), f32('hf0', [1, 4], 'head-features'), f32('aux0', [1, 4], 'auxiliary')],
    },
    {
      name: 's1', file: 's1.onnx', sha256: SHA, exit: { defaultThreshold: 0.5 },
      inputs: [input('tokens_in', { kind: 'output', stage: 0, output: 'tokens0' }), input('hf_in', { kind: 'output', stage: 0, output: 'hf0' }), input('kv', { kind: 'output', stage: 'template', output: 'tpl_kv' })],
      outputs: [f32('tokens1', [1, 4], 'tokens'), ...maps(1), f32('hf1', [1, 4], 'head-features')],
    },
    {
      name: 's2', file: 's2.onnx', sha256: SHA, exit: { defaultThreshold: 0.5 },
      inputs: [input('tokens_in', { kind: 'output', stage: 1, output: 'tokens1' }), input('hf_in', { kind: 'output', stage: 1, output: 'hf1' }), input('skip', { kind: 'output', stage: 0, output: 'tokens0' })],
      outputs: maps(2),
    },
  ],
});

/** A model without template cache: every stage reads the template image. */
const plainManifest = parseManifest({
  ...common, name: 'plain',
  stages: [
    {
      name: 's0', file: 's0.onnx', sha256: SHA, exit: { defaultThreshold: 0.5 },
      inputs: [input('template', { kind: 'template-image' }), input('search', { kind: 'search-image' })],
      outputs: [f32('tokens0', [1, 4], 'tokens'), ...maps(0)],
    },
    {
      name: 's1', file: 's1.onnx', sha256: SHA, exit: { defaultThreshold: 0.5 },
      inputs: [input('tokens_in', { kind: 'output', stage: 0, output: 'tokens0' })],
      outputs: maps(1),
    },
  ],
});

function outputsOf(stage: { outputs: readonly { name: string }[] }, tag: string): Record<string, CountingTensor> {
  return Object.fromEntries(stage.outputs.map((o) => [o.name, new CountingTensor(`${tag}:${o.name}`)]));
}
const image = (n: number): HostTensor => ({ dtype: 'float32', dims: [1, 3, n, n], data: new Float32Array(3 * n * n) });
const disposals = (ts: Record<string, CountingTensor>) => Object.fromEntries(Object.entries(ts).map(([k, t]) => [k, t.disposeCalls]));

describe('planRecycling', () => {
  it('reads feeds, kept outputs, last uses and the template cache from the manifest', () => {
    const plan = planRecycling(cacheManifest);
    expect(plan.stages[0]!.keep).toEqual(['tokens0', 'hf0']);
    expect(plan.stages[0]!.release).toEqual(['score0', 'size0', 'offset0', 'ts0', 'aux0']);
    expect(plan.stages[0]!.lastUse).toEqual({ tokens0: 2, hf0: 1 });
    expect(plan.stages[1]!.keep).toEqual(['tokens1', 'hf1']);
    expect(plan.stages[1]!.lastUse).toEqual({ tokens1: 2, hf1: 2 });
    expect(plan.stages[2]!.keep).toEqual([]);
    expect(plan.stages[2]!.release).toEqual(['score2', 'size2', 'offset2', 'ts2']);
    expect(plan.stages[1]!.inputs.map((i) => i.name)).toEqual(['tokens_in', 'hf_in', 'kv']);
    expect(plan.template).toEqual({ keep: ['tpl_tokens', 'tpl_kv'], release: ['tpl_debug'] });
    expect(plan.usesTemplateImage).toBe(false);
    const plain = planRecycling(plainManifest);
    expect(plain.template).toBeUndefined();
    expect(plain.usesTemplateImage).toBe(true);
    expect(plain.stages[0]!.keep).toEqual(['tokens0']);
  });
});

describe('createRecycler', () => {
  it('feeds each stage from the template cache and earlier outputs, releasing each tensor exactly once as soon as it is dead', () => {
    const r = createRecycler();
    r.attach(cacheManifest);
    const enc = outputsOf(cacheManifest.templateEncoder!, 'enc');
    const tpl = image(16);
    r.setTemplate(tpl, enc);
    // The encoder output no stage reads is released at once; the cache is kept.
    expect(disposals(enc)).toEqual({ tpl_tokens: 0, tpl_kv: 0, tpl_debug: 1 });

    const search = image(32);
    r.beginFrame(search);
    const feeds0 = r.feedsFor(0);
    expect(feeds0).toEqual({ search, tpl: enc.tpl_tokens, kv: enc.tpl_kv });
    expect(feeds0.search).toBe(search);
    const out0 = outputsOf(cacheManifest.stages[0]!, 'f1s0');
    r.collect(0, out0);
    expect(disposals(out0)).toEqual({ tokens0: 0, score0: 1, size0: 1, offset0: 1, ts0: 1, hf0: 0, aux0: 1 });

    const feeds1 = r.feedsFor(1);
    expect(feeds1.tokens_in).toBe(out0.tokens0);
    expect(feeds1.hf_in).toBe(out0.hf0);
    expect(feeds1.kv).toBe(enc.tpl_kv);
    const out1 = outputsOf(cacheManifest.stages[1]!, 'f1s1');
    r.collect(1, out1);
    // hf0's last consumer (stage 1) has run; tokens0 still feeds stage 2.
    expect(out0.hf0.disposeCalls).toBe(1);
    expect(out0.tokens0.disposeCalls).toBe(0);
    expect(disposals(out1)).toEqual({ tokens1: 0, score1: 1, size1: 1, offset1: 1, ts1: 1, hf1: 0 });

    const feeds2 = r.feedsFor(2);
    expect(feeds2).toEqual({ tokens_in: out1.tokens1, hf_in: out1.hf1, skip: out0.tokens0 });
    const out2 = outputsOf(cacheManifest.stages[2]!, 'f1s2');
    r.collect(2, out2);
    r.endFrame();
    for (const t of [...Object.values(out0), ...Object.values(out1), ...Object.values(out2)]) expect([t.label, t.disposeCalls]).toEqual([t.label, 1]);
    expect(r.heldTensorCount).toBe(2); // the template cache only

    // Next frame: the same feed objects, refilled; the template cache is reused.
    r.beginFrame(image(32));
    expect(r.feedsFor(0)).toBe(feeds0);
    expect(feeds0.kv).toBe(enc.tpl_kv);
    const g0 = outputsOf(cacheManifest.stages[0]!, 'f2s0');
    r.collect(0, g0);
    r.endFrame(); // exited at stage 0: the recycled tensors are released here
    for (const t of Object.values(g0)) expect([t.label, t.disposeCalls]).toEqual([t.label, 1]);
    expect(disposals(enc)).toEqual({ tpl_tokens: 0, tpl_kv: 0, tpl_debug: 1 });

    // A new template releases the old cache; dispose releases the new one.
    const enc2 = outputsOf(cacheManifest.templateEncoder!, 'enc2');
    r.setTemplate(image(16), enc2);
    expect(disposals(enc)).toEqual({ tpl_tokens: 1, tpl_kv: 1, tpl_debug: 1 });
    r.dispose();
    expect(disposals(enc2)).toEqual({ tpl_tokens: 1, tpl_kv: 1, tpl_debug: 1 });
    expect(r.heldTensorCount).toBe(0);
    r.dispose();
    expect(disposals(enc2)).toEqual({ tpl_tokens: 1, tpl_kv: 1, tpl_debug: 1 });
    expect(() => r.beginFrame(image(32))).toThrow(DisposedError);
  });

  it('clearTemplate releases the template cache at once and requires a new template before the next frame', () => {
    const r = createRecycler();
    r.attach(cacheManifest);
    const enc = outputsOf(cacheManifest.templateEncoder!, 'enc');
    r.setTemplate(image(16), enc);
    r.clearTemplate();
    expect(disposals(enc)).toEqual({ tpl_tokens: 1, tpl_kv: 1, tpl_debug: 1 });
    expect(r.heldTensorCount).toBe(0);
    expect(() => r.beginFrame(image(32))).toThrow(/before setTemplate/);
    r.clearTemplate(); // harmless twice
    expect(disposals(enc)).toEqual({ tpl_tokens: 1, tpl_kv: 1, tpl_debug: 1 });
    r.dispose();
  });

  it('releases a frame in flight on dispose, and on the next beginFrame if endFrame was skipped', () => {
    const r = createRecycler();
    r.attach(plainManifest);
    r.setTemplate(image(16));
    r.beginFrame(image(32));
    expect(Object.keys(r.feedsFor(0))).toEqual(['template', 'search']);
    const a = outputsOf(plainManifest.stages[0]!, 'a');
    r.collect(0, a);
    expect(a.tokens0.disposeCalls).toBe(0);
    r.beginFrame(image(32));
    expect(a.tokens0.disposeCalls).toBe(1);
    const b = outputsOf(plainManifest.stages[0]!, 'b');
    r.feedsFor(0);
    r.collect(0, b);
    r.dispose();
    for (const t of Object.values(b)) expect(t.disposeCalls).toBe(1);
  });

  it('rejects out-of-order use with clear errors, releasing whatever it was handed', () => {
    const r = createRecycler();
    expect(() => r.beginFrame(image(32))).toThrow(/before attach/);
    r.attach(cacheManifest);
    expect(() => r.beginFrame(image(32))).toThrow(/before setTemplate/);
    expect(() => r.setTemplate(image(16))).toThrow(/caches the template encoder's outputs \(tpl_tokens, tpl_kv\)/);
    const partial = { tpl_tokens: new CountingTensor('t') };
    expect(() => r.setTemplate(image(16), partial)).toThrow(ModelMismatchError);
    expect(partial.tpl_tokens.disposeCalls).toBe(1);
    r.setTemplate(image(16), outputsOf(cacheManifest.templateEncoder!, 'enc'));
    expect(() => r.feedsFor(0)).toThrow(/outside a frame/);
    r.beginFrame(image(32));
    expect(() => r.feedsFor(1)).toThrow(InvalidStateError);
    expect(() => r.feedsFor(1)).toThrow(/needs output "tokens0" of stage 0, which has not run on this frame/);
    expect(() => r.feedsFor(7)).toThrow(/no stage 7/);
    const missing = outputsOf(cacheManifest.stages[0]!, 'm');
    delete (missing as Record<string, CountingTensor | undefined>).hf0;
    expect(() => r.collect(0, missing)).toThrow(/stage 0 did not produce "hf0", which stage 1 consumes/);
    for (const t of Object.values(missing)) expect(t.disposeCalls).toBe(1);
    r.endFrame();
    r.beginFrame(image(32));
    r.collect(0, outputsOf(cacheManifest.stages[0]!, 'ok'));
    const twice = outputsOf(cacheManifest.stages[0]!, 'twice');
    expect(() => r.collect(0, twice)).toThrow(/already collected/);
    for (const t of Object.values(twice)) expect(t.disposeCalls).toBe(1);
    r.endFrame();
    const late = outputsOf(cacheManifest.stages[1]!, 'late');
    expect(() => r.collect(1, late)).toThrow(/outside a frame/);
    for (const t of Object.values(late)) expect(t.disposeCalls).toBe(1);
    r.dispose();
  });
});
