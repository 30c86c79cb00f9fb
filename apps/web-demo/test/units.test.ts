/**
 * The demo's Node-side and shared pieces, tested without a browser: the
 * build-time assets, policy specs, IoU and the source error messages.
 */
import { MANIFEST_FILE_NAME, parseManifest, sha256Hex, type ExitContext } from '@dytrack/core';
import { createSyntheticSequence, iouInclusive as evalIou } from '@dytrack/eval';
import { manifestFiles } from '@dytrack/model';
import { describe, expect, it } from 'vitest';
import { ORT_FILES, contentTypeOf, createDemoAssets } from '../src/node/assets.js';
import { createPolicy } from '../src/policy.js';
import { iouInclusive, type DemoManifest, type PolicySpec } from '../src/protocol.js';
import { cameraErrorMessage } from '../src/sources.js';

describe('createDemoAssets', () => {
  it('serves ORT wasm, a verified model directory, the sample frames and demo.json', async () => {
    const warnings: string[] = [];
    const sample = { seed: 5, length: 4, width: 64, height: 48 };
    // A named directory without a manifest is an error; the random-init fallback is only for the default.
    await expect(createDemoAssets({ modelDir: '/nonexistent-dytrack-model', sample })).rejects.toThrow(/no dytrack.model.json/);
    const assets = await createDemoAssets({ sample, warn: (m) => warnings.push(m) });

    for (const file of ORT_FILES) expect(assets.get(`ort/${file}`)?.bytes.byteLength).toBeGreaterThan(10_000);
    expect(assets.get('ort/ort-wasm-simd-threaded.jsep.wasm')!.contentType).toBe('application/wasm');
    // WebAssembly magic number.
    expect([...assets.get('ort/ort-wasm-simd-threaded.jsep.wasm')!.bytes.subarray(0, 4)]).toEqual([0, 0x61, 0x73, 0x6d]);

    const demo = JSON.parse(new TextDecoder().decode(assets.get('demo.json')!.bytes)) as DemoManifest;
    const manifest = parseManifest(new TextDecoder().decode(assets.get(`${demo.model.path}${MANIFEST_FILE_NAME}`)!.bytes));
    for (const { file, sha256 } of manifestFiles(manifest)) expect(await sha256Hex(assets.get(`${demo.model.path}${file}`)!.bytes)).toBe(sha256);
    expect(demo.model.trained).toBe(warnings.length === 0);

    // The frames are the generator's, byte for byte, with its truth.
    const frames = assets.get(demo.sample.frames)!.bytes;
    const sequence = createSyntheticSequence(sample);
    expect(frames.byteLength).toBe(4 * 64 * 48 * 3);
    expect(Buffer.from(frames.subarray(3 * 64 * 48 * 3)).equals(Buffer.from(sequence.renderFrame(3).data))).toBe(true);
    expect(demo.sample.truth).toEqual(sequence.groundTruth.map((b) => ({ x: b.x, y: b.y, width: b.width, height: b.height })));
    expect(demo.sample).toMatchObject(sample);
  });

  it('names content types the browser needs', () => {
    expect(contentTypeOf('ort/x.mjs')).toBe('text/javascript');
    expect(contentTypeOf('model/stage0.onnx')).toBe('application/octet-stream');
    expect(contentTypeOf('demo.json')).toBe('application/json');
  });
});

describe('createPolicy', () => {
  const ctx = (exitIndex: number, terminatingScore: number, confidence = 0.5): ExitContext => ({
    exitIndex,
    exitCount: 3,
    terminatingScore,
    confidence,
    box: { x: 0, y: 0, width: 10, height: 10 },
    elapsedMs: 1,
    frameIndex: 1,
    previous: undefined,
  });

  it('builds each policy the controls describe', () => {
    const threshold = createPolicy({ kind: 'threshold', thresholds: [0.7, 0.6] });
    expect([threshold.shouldExit(ctx(0, 0.69)), threshold.shouldExit(ctx(0, 0.7)), threshold.shouldExit(ctx(1, 0.6))]).toEqual([false, true, true]);
    const fixed = createPolicy({ kind: 'fixed-depth', exit: 1 });
    expect([fixed.shouldExit(ctx(0, 1)), fixed.shouldExit(ctx(1, 0))]).toEqual([false, true]);
    expect(fixed.name).toBe('fixedDepth(1)');
    const confidence = createPolicy({ kind: 'confidence', threshold: 0.8 });
    expect([confidence.shouldExit(ctx(0, 1, 0.79)), confidence.shouldExit(ctx(0, 0, 0.8))]).toEqual([false, true]);
    const budget = createPolicy({ kind: 'latency-budget', targetMs: 10, thresholds: [0.7, 0.6] });
    expect(budget.specificationVersion).toBe('v1');
  });

  it('rejects an unknown kind and bad values with a clear error', () => {
    expect(() => createPolicy({ kind: 'nope' } as unknown as PolicySpec)).toThrow(/unknown exit policy kind "nope"/);
    expect(() => createPolicy({ kind: 'confidence', threshold: 2 })).toThrow();
    expect(() => createPolicy({ kind: 'fixed-depth', exit: -1 })).toThrow();
  });
});

describe('iouInclusive', () => {
  it('agrees with @dytrack/eval (pytracking convention)', () => {
    let seed = 1;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 100;
    for (let i = 0; i < 200; i++) {
      const a = { x: rnd(), y: rnd(), width: rnd() + 1, height: rnd() + 1 };
      const b = { x: rnd(), y: rnd(), width: rnd() + 1, height: rnd() + 1 };
      expect(iouInclusive(a, b)).toBeCloseTo(evalIou(a, b), 12);
    }
    expect(iouInclusive({ x: 0, y: 0, width: 5, height: 5 }, { x: 0, y: 0, width: 0, height: 5 })).toBe(-1);
  });
});

describe('cameraErrorMessage', () => {
  it('explains denial, a missing camera and a busy one', () => {
    expect(cameraErrorMessage(new DOMException('x', 'NotAllowedError'))).toMatch(/denied/);
    expect(cameraErrorMessage(new DOMException('x', 'NotFoundError'))).toMatch(/No camera/);
    expect(cameraErrorMessage(new DOMException('x', 'NotReadableError'))).toMatch(/could not be started/);
    expect(cameraErrorMessage(new Error('boom'))).toMatch(/boom/);
  });
});
