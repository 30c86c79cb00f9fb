import { BackendError, DisposedError, DyTrackError, isBackendTensor } from '@dytrack/core';
import type {
  BackendTensor,
  HostTensor,
  InferenceBackend,
  InferenceSession,
  TensorDType,
  TensorDataMap,
  TensorValue,
} from '@dytrack/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MLP_B,
  MLP_K,
  MLP_M,
  MLP_W,
  castModel,
  identityModel,
  integerModel,
  mlpModel,
  multiOutputModel,
  softmaxModel,
} from './backend-models.js';
import { firstMismatch, referenceMlp, referenceRowSums, referenceSoftmax, seededUniform } from './reference.js';

/** Options of {@link describeBackendConformance}. */
export interface BackendConformanceOptions {
  /**
   * True when `loadModel` accepts a file path string. The suite then loads a
   * model from a temporary file and checks that a missing file gives a clear
   * error. Default: whether the backend's `capabilities.modelSources` lists
   * `'path'`; when given, the suite also checks that the capabilities agree.
   */
  readonly loadsFromPath?: boolean;
  /** Relative tolerance of float32 results against the float64 reference. Default 1e-5. */
  readonly float32RelativeTolerance?: number;
}

/** Creates the backend under test; called once for the shared backend and again by the tests that dispose one. */
export type BackendFactory = () => Promise<InferenceBackend> | InferenceBackend;

const CONCURRENT_RUNS = 8;

function f32(values: readonly number[], dims: readonly number[]): HostTensor<'float32'> {
  return { dtype: 'float32', dims, data: Float32Array.from(values) };
}

/** Deterministic float32-representable inputs for the MLP at batch `n`. */
function mlpInput(n: number, seed: number): number[] {
  return seededUniform(seed, n * MLP_K, -2, 2).map(Math.fround);
}

/** The rejection of `action` (sync throw or rejected promise), or undefined when it succeeded. */
async function failureOf(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Asserts `action` fails with an instance of `errorClass` whose message contains every fragment. */
async function expectFailure(
  action: () => unknown,
  errorClass: typeof BackendError | typeof DisposedError,
  fragments: readonly string[] = [],
): Promise<Error> {
  const error = await failureOf(action);
  expect(error, 'expected the call to fail').toBeInstanceOf(errorClass);
  const message = (error as Error).message;
  for (const fragment of fragments) expect(message).toContain(fragment);
  return error as Error;
}

/** Asserts that float output data (typed array or undefined) is within `rtol * |ref| + atol` of the reference. */
function expectClose(actual: unknown, expected: readonly number[], rtol: number, atol = 1e-6): void {
  expect(ArrayBuffer.isView(actual), 'output data is a typed array').toBe(true);
  const values = Array.from(actual as ArrayLike<number>, Number);
  expect(values).toHaveLength(expected.length);
  const at = firstMismatch(values, expected, rtol, atol);
  expect(at, at < 0 ? '' : `element ${at}: got ${values[at]}, expected ${expected[at]}`).toBe(-1);
}

function sampleData(dtype: TensorDType): TensorDataMap[TensorDType] {
  switch (dtype) {
    case 'float32':
      return Float32Array.from([1.5, -2, 3.25, 0, 1e-30, -65504.5]);
    case 'float16':
      // Raw half bits: 1, -2, 65504 (max), smallest subnormal, -0, ~1/3.
      return Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x3555]);
    case 'float64':
      return Float64Array.from([Math.PI, -1e300, 5e-324, 1 / 3, 0, 2 ** 60]);
    case 'int32':
      return Int32Array.from([2147483647, -2147483648, 0, 1, -1, 123456]);
    case 'int64':
      return BigInt64Array.from([2n ** 62n, -(2n ** 63n), 0n, 1n, -1n, 9007199254740993n]);
    case 'uint8':
      return Uint8Array.from([0, 255, 1, 128, 7, 200]);
    case 'int8':
      return Int8Array.from([-128, 127, 0, -1, 1, 55]);
    case 'bool':
      return Uint8Array.from([0, 1, 1, 0, 1, 0]);
  }
}

/**
 * Registers the backend conformance tests (vitest `describe`/`it`) for one
 * {@link InferenceBackend}, the way tfjs runs core's tests against each backend.
 * Every model is built by the suite itself with `onnx-proto`, and every result is
 * compared with a plain-TypeScript float64 reference.
 *
 * Covered: metadata, numerics (MatMul+Add+Relu with a symbolic batch, Softmax,
 * a multi-output graph with output selection, int64/int32/uint8/bool/float64, an
 * identity round trip for every dtype the backend declares), backend tensors
 * (download, dispose, feeding outputs back), concurrent runs on one session,
 * loading from bytes and (when supported) from a path, and bad input: corrupt,
 * truncated and empty model bytes, missing and extra feeds, wrong dtype, rank,
 * dimension and data length, unknown outputs, running after release, releasing
 * twice, releasing during runs and disposing the backend. Each must give a clear
 * error (or be harmless), never a crash of the process.
 *
 * @example
 * ```ts
 * // packages/backend-node/test/conformance.test.ts
 * import { describeBackendConformance } from '@dytrack/conformance';
 * import { createNodeBackend } from '@dytrack/backend-node';
 *
 * describeBackendConformance('onnxruntime-node', () => createNodeBackend());
 * ```
 */
export function describeBackendConformance(name: string, createBackend: BackendFactory, options: BackendConformanceOptions = {}): void {
  const rtol = options.float32RelativeTolerance ?? 1e-5;

  describe(`${name}: InferenceBackend conformance`, () => {
    let backend: InferenceBackend;
    let mlp: InferenceSession;
    const mlpBytes = mlpModel();

    beforeAll(async () => {
      backend = await createBackend();
      mlp = await backend.loadModel(mlpBytes, { name: 'mlp.onnx' });
    });

    afterAll(async () => {
      await backend?.dispose();
    });

    /** Known once the backend exists, hence a function: the tests below are registered before it is created. */
    function loadsFromPath(): boolean {
      return options.loadsFromPath ?? backend.capabilities.modelSources.includes('path');
    }

    async function runMlp(session: InferenceSession, n: number, seed: number): Promise<void> {
      const x = mlpInput(n, seed);
      const { y } = await session.run({ x: f32(x, [n, MLP_K]) });
      expect(y.dims).toEqual([n, MLP_M]);
      expectClose(await y.download(), referenceMlp(x, n, MLP_W, MLP_B, MLP_K, MLP_M), rtol);
      y.dispose();
    }

    describe('capabilities and metadata', () => {
      it('declares specification v1, a name, execution providers and float32', () => {
        expect(backend.specificationVersion).toBe('v1');
        expect(typeof backend.name).toBe('string');
        expect(backend.name.length).toBeGreaterThan(0);
        const caps = backend.capabilities;
        expect(caps.executionProviders.length).toBeGreaterThan(0);
        expect(caps.dtypes).toContain('float32');
        expect(typeof caps.deviceTensors).toBe('boolean');
        if (caps.threads !== undefined) expect(Number.isInteger(caps.threads) && caps.threads > 0).toBe(true);
        expect(caps.modelSources).toContain('bytes');
        for (const kind of caps.modelSources) expect(['bytes', 'path', 'url']).toContain(kind);
        if (options.loadsFromPath !== undefined) expect(caps.modelSources.includes('path')).toBe(options.loadsFromPath);
      });

      it('reports the model name, inputs and outputs with symbolic dimensions', () => {
        expect(mlp.name).toBe('mlp.onnx');
        expect(mlp.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: ['N', MLP_K] }]);
        expect(mlp.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: ['N', MLP_M] }]);
      });

      it('lists every output of a multi-output model in graph order', async () => {
        const session = await backend.loadModel(multiOutputModel(), { name: 'multi' });
        expect(session.outputs.map((o) => o.name)).toEqual(['doubled', 'negated', 'squared', 'rowSums']);
        expect(session.outputs[3]).toEqual({ name: 'rowSums', dtype: 'float32', shape: [3] });
        await session.release();
      });
    });

    describe('numerics against the TypeScript reference', () => {
      it('MatMul + Add + Relu at several sizes of the symbolic batch', async () => {
        for (const n of [1, 3, 7]) await runMlp(mlp, n, 100 + n);
      });

      it('Relu clamps negative pre-activations to exactly 0', async () => {
        const x = mlpInput(16, 7);
        const { y } = await mlp.run({ x: f32(x, [16, MLP_K]) });
        const expected = referenceMlp(x, 16, MLP_W, MLP_B, MLP_K, MLP_M);
        const zeros = expected.flatMap((v, i) => (v === 0 ? [i] : []));
        expect(zeros.length).toBeGreaterThan(0);
        for (const i of zeros) expect(y.data?.[i]).toBe(0);
      });

      it('Softmax, including large logits', async () => {
        const session = await backend.loadModel(softmaxModel(), { name: 'softmax' });
        const logits = [...seededUniform(3, 6, -3, 3), 80, 81, 79.5].map(Math.fround);
        const { probs } = await session.run({ logits: f32(logits, [3, MLP_M]) });
        expect(probs.dims).toEqual([3, MLP_M]);
        expectClose(probs.data as Float32Array, referenceSoftmax(logits, 3, MLP_M), rtol);
        await session.release();
      });

      it('a multi-output graph, all outputs and a selected subset', async () => {
        const session = await backend.loadModel(multiOutputModel(), { name: 'multi' });
        const x = seededUniform(5, 12, -4, 4).map(Math.fround);
        const all = await session.run({ x: f32(x, [3, 4]) });
        expect(Object.keys(all).sort()).toEqual(['doubled', 'negated', 'rowSums', 'squared']);
        expectClose(all.doubled.data as Float32Array, x.map((v) => 2 * v), rtol);
        expectClose(all.negated.data as Float32Array, x.map((v) => -v), rtol);
        expectClose(all.squared.data as Float32Array, x.map((v) => v * v), rtol);
        expect(all.rowSums.dims).toEqual([3]);
        expectClose(all.rowSums.data as Float32Array, referenceRowSums(x, 3, 4), rtol);

        const some = await session.run({ x: f32(x, [3, 4]) }, { outputs: ['rowSums', 'negated'] });
        expect(Object.keys(some).sort()).toEqual(['negated', 'rowSums']);
        expectClose(some.rowSums.data as Float32Array, referenceRowSums(x, 3, 4), rtol);
        await session.release();
      });

      it('int64 beyond 2^53 and int32 exactly', async () => {
        const session = await backend.loadModel(integerModel(), { name: 'integer' });
        const a = BigInt64Array.from([2n ** 60n + 1n, -(2n ** 62n), 9007199254740993n, 0n]);
        const b = BigInt64Array.from([2n, -1n, 2n, -5n]);
        const c = Int32Array.from([0, 1, -3, 46340, -46340, 12345]);
        const out = await session.run({
          a: { dtype: 'int64', dims: [4], data: a },
          b: { dtype: 'int64', dims: [4], data: b },
          c: { dtype: 'int32', dims: [2, 3], data: c },
        });
        expect(out.sum.dtype).toBe('int64');
        expect(Array.from(out.sum.data as BigInt64Array)).toEqual([2n ** 60n + 3n, -(2n ** 62n) - 1n, 9007199254740995n, -5n]);
        expect(out.cSquared.dtype).toBe('int32');
        expect(Array.from(out.cSquared.data as Int32Array)).toEqual(Array.from(c, (v) => v * v));
        await session.release();
      });

      it('uint8 → float32 cast, a bool comparison and float64 at full precision', async () => {
        const session = await backend.loadModel(castModel(), { name: 'cast' });
        const pixels = Uint8Array.from([0, 100, 101, 255, 37, 200]);
        const d = Float64Array.from([1 + 2 ** -40, Math.PI, -1e150]);
        const out = await session.run({
          pixels: { dtype: 'uint8', dims: [2, 3], data: pixels },
          d: { dtype: 'float64', dims: [3], data: d },
        });
        expect(out.values.dtype).toBe('float32');
        expect(Array.from(out.values.data as Float32Array)).toEqual(Array.from(pixels));
        expect(out.bright.dtype).toBe('bool');
        expect(Array.from(out.bright.data as Uint8Array)).toEqual([0, 0, 1, 1, 0, 1]);
        expect(out.dSquared.dtype).toBe('float64');
        // 1 + 2^-39 + 2^-80 rounds to 1 + 2^-39 in float64; float32 would give exactly 1.
        expect(Array.from(out.dSquared.data as Float64Array)).toEqual(Array.from(d, (v) => v * v));
        await session.release();
      });

      it('round-trips every declared dtype through Identity bit for bit', async () => {
        for (const dtype of backend.capabilities.dtypes) {
          const session = await backend.loadModel(identityModel(dtype), { name: `identity-${dtype}` });
          expect(session.inputs[0].dtype).toBe(dtype);
          const data = sampleData(dtype);
          const { y } = await session.run({ x: { dtype, dims: [2, 3], data } as HostTensor });
          expect(y.dtype).toBe(dtype);
          expect(y.dims).toEqual([2, 3]);
          const back = await y.download();
          expect(back.constructor).toBe(data.constructor);
          expect(Array.from(back as ArrayLike<number | bigint>)).toEqual(Array.from(data as ArrayLike<number | bigint>));
          await session.release();
        }
      });
    });

    describe('backend tensors', () => {
      it('CPU outputs expose data; download matches; dispose is idempotent', async () => {
        const x = mlpInput(2, 21);
        const { y } = await mlp.run({ x: f32(x, [2, MLP_K]) });
        expect(isBackendTensor(y)).toBe(true);
        expect(y.dtype).toBe('float32');
        if (y.location === 'cpu') expect(y.data).toBeInstanceOf(Float32Array);
        const downloaded = await y.download();
        expectClose(downloaded, referenceMlp(x, 2, MLP_W, MLP_B, MLP_K, MLP_M), rtol);
        y.dispose();
        y.dispose();
        await expectFailure(() => y.download(), DisposedError);
      });

      it('an output fed back into the next run gives the chained result', async () => {
        const softmax = await backend.loadModel(softmaxModel(), { name: 'softmax' });
        const x = mlpInput(5, 31);
        const { y } = await mlp.run({ x: f32(x, [5, MLP_K]) });
        const { probs } = await softmax.run({ logits: y });
        const hidden = referenceMlp(x, 5, MLP_W, MLP_B, MLP_K, MLP_M);
        expectClose(await probs.download(), referenceSoftmax(hidden, 5, MLP_M), rtol);
        // The fed tensor is still the caller's: usable and disposable after the run.
        expectClose(await y.download(), hidden, rtol);
        y.dispose();
        probs.dispose();
        await softmax.release();
      });

      it('keepOnDevice outputs download correctly and feed back in, on device or not', async () => {
        const softmax = await backend.loadModel(softmaxModel(), { name: 'softmax' });
        const x = mlpInput(4, 41);
        const { y } = await mlp.run({ x: f32(x, [4, MLP_K]) }, { keepOnDevice: ['y'] });
        if (!backend.capabilities.deviceTensors) expect(y.location).toBe('cpu');
        if (y.location === 'device') expect(y.data).toBeUndefined();
        const hidden = referenceMlp(x, 4, MLP_W, MLP_B, MLP_K, MLP_M);
        const { probs } = await softmax.run({ logits: y });
        expectClose(await probs.download(), referenceSoftmax(hidden, 4, MLP_M), rtol);
        expectClose(await y.download(), hidden, rtol);
        y.dispose();
        await softmax.release();
      });

      it('rejects a disposed tensor fed as input with a DisposedError', async () => {
        const softmax = await backend.loadModel(softmaxModel(), { name: 'softmax' });
        const { y } = await mlp.run({ x: f32(mlpInput(2, 51), [2, MLP_K]) });
        y.dispose();
        await expectFailure(() => softmax.run({ logits: y }), DisposedError);
        await softmax.release();
      });
    });

    describe('concurrency', () => {
      it(`${CONCURRENT_RUNS} concurrent runs on one session each get their own correct outputs`, async () => {
        const batches = Array.from({ length: CONCURRENT_RUNS }, (_, i) => i + 1);
        const inputs = batches.map((n) => mlpInput(n, 200 + n));
        const results = await Promise.all(batches.map((n, i) => mlp.run({ x: f32(inputs[i], [n, MLP_K]) })));
        results.forEach(({ y }, i) => {
          const n = batches[i];
          expect(y.dims).toEqual([n, MLP_M]);
          expectClose(y.data, referenceMlp(inputs[i], n, MLP_W, MLP_B, MLP_K, MLP_M), rtol);
        });
      });

      it('concurrent runs across several sessions of different models', async () => {
        const sessions = await Promise.all([
          backend.loadModel(mlpBytes, { name: 'mlp-a' }),
          backend.loadModel(mlpBytes, { name: 'mlp-b' }),
          backend.loadModel(softmaxModel(), { name: 'softmax' }),
        ]);
        const logits = seededUniform(9, 6, -5, 5).map(Math.fround);
        const softmaxRuns = Array.from({ length: 4 }, () => sessions[2].run({ logits: f32(logits, [2, MLP_M]) }));
        await Promise.all([runMlp(sessions[0], 6, 301), runMlp(sessions[1], 2, 302), runMlp(mlp, 9, 303), ...softmaxRuns]);
        for (const run of softmaxRuns) expectClose((await run).probs.data, referenceSoftmax(logits, 2, MLP_M), rtol);
        await Promise.all(sessions.map((s) => s.release()));
      });
    });

    describe('loading', () => {
      it('loads from bytes that are a view into a larger buffer', async () => {
        const padded = new Uint8Array(mlpBytes.length + 24);
        padded.fill(0xee);
        padded.set(mlpBytes, 16);
        const session = await backend.loadModel(padded.subarray(16, 16 + mlpBytes.length), { name: 'mlp-view' });
        await runMlp(session, 3, 401);
        await session.release();
      });

      it('two sessions of the same bytes are independent', async () => {
        const a = await backend.loadModel(mlpBytes);
        const b = await backend.loadModel(mlpBytes);
        await a.release();
        await runMlp(b, 2, 402);
        await expectFailure(() => a.run({ x: f32(mlpInput(1, 1), [1, MLP_K]) }), DisposedError);
        await b.release();
      });

      it('loads from a file path and names the session after the file', async (ctx) => {
        ctx.skip(!loadsFromPath(), 'the backend does not load from paths');
        const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
        const { tmpdir } = await import('node:os');
        const { join } = await import('node:path');
        const dir = await mkdtemp(join(tmpdir(), 'dytrack-conformance-'));
        try {
          const path = join(dir, 'mlp-from-file.onnx');
          await writeFile(path, mlpBytes);
          const session = await backend.loadModel(path);
          expect(session.name).toBe('mlp-from-file.onnx');
          await runMlp(session, 4, 403);
          await session.release();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      });

      it('a missing file rejects with a BackendError naming the path', async (ctx) => {
        ctx.skip(!loadsFromPath(), 'the backend does not load from paths');
        const { tmpdir } = await import('node:os');
        const { join } = await import('node:path');
        const path = join(tmpdir(), `dytrack-no-such-model-${process.pid}-${Date.now()}.onnx`);
        await expectFailure(() => backend.loadModel(path), BackendError, [path]);
      });
    });

    describe('bad input gives a clear error, never a crash', () => {
      it('corrupt model bytes reject with a BackendError naming the model', async () => {
        const garbage = Uint8Array.from(seededUniform(13, 512, 0, 256), Math.floor);
        const error = await expectFailure(() => backend.loadModel(garbage, { name: 'garbage.onnx' }), BackendError, ['garbage.onnx']);
        expect((error as DyTrackError).code).toBe('BACKEND_ERROR');
      });

      it('truncated model bytes reject with a BackendError', async () => {
        const truncated = mlpBytes.slice(0, Math.floor(mlpBytes.length / 2));
        await expectFailure(() => backend.loadModel(truncated, { name: 'truncated.onnx' }), BackendError, ['truncated.onnx']);
      });

      it('empty model bytes reject with a BackendError', async () => {
        await expectFailure(() => backend.loadModel(new Uint8Array(0), { name: 'empty.onnx' }), BackendError, ['empty.onnx']);
      });

      it('a missing feed names the missing input', async () => {
        const session = await backend.loadModel(integerModel(), { name: 'integer' });
        const a: HostTensor = { dtype: 'int64', dims: [4], data: new BigInt64Array(4) };
        const c: HostTensor = { dtype: 'int32', dims: [2, 3], data: new Int32Array(6) };
        await expectFailure(() => session.run({ a, c }), BackendError, ['"b"', 'missing']);
        await session.release();
      });

      it('an extra feed names the unknown input', async () => {
        const extra = { x: f32(mlpInput(1, 1), [1, MLP_K]), z: f32([1], [1]) };
        await expectFailure(() => mlp.run(extra), BackendError, ['"z"']);
      });

      it('a wrong dtype names the input, the expected and the actual dtype', async () => {
        const x: HostTensor = { dtype: 'int32', dims: [1, MLP_K], data: new Int32Array(MLP_K) };
        await expectFailure(() => mlp.run({ x }), BackendError, ['"x"', 'float32', 'int32']);
      });

      it('data of the wrong typed array for its dtype is rejected', async () => {
        const x = { dtype: 'float32', dims: [1, MLP_K], data: new Float64Array(MLP_K) } as unknown as HostTensor;
        await expectFailure(() => mlp.run({ x }), BackendError, ['"x"', 'Float32Array', 'Float64Array']);
      });

      it('a wrong rank names the input and both shapes', async () => {
        await expectFailure(() => mlp.run({ x: f32([1, 2, 3, 4], [MLP_K]) }), BackendError, ['"x"', `[N, ${MLP_K}]`, `[${MLP_K}]`]);
      });

      it('a wrong fixed dimension names the input and both shapes', async () => {
        const x = f32(new Array(10).fill(0), [2, 5]);
        await expectFailure(() => mlp.run({ x }), BackendError, ['"x"', `[N, ${MLP_K}]`, '[2, 5]']);
      });

      it('data whose length disagrees with the dims is rejected', async () => {
        await expectFailure(() => mlp.run({ x: f32([1, 2, 3], [1, MLP_K]) }), BackendError, ['"x"', '3']);
      });

      it('a feed that is not a tensor is rejected', async () => {
        const feeds = { x: null } as unknown as Record<string, TensorValue>;
        await expectFailure(() => mlp.run(feeds), BackendError, ['"x"']);
      });

      it('an unknown requested or kept output is rejected by name', async () => {
        const feeds = { x: f32(mlpInput(1, 2), [1, MLP_K]) };
        await expectFailure(() => mlp.run(feeds, { outputs: ['nope'] }), BackendError, ['"nope"']);
        await expectFailure(() => mlp.run(feeds, { keepOnDevice: ['gone'] }), BackendError, ['"gone"']);
        await expectFailure(() => mlp.run(feeds, { outputs: [] }), BackendError);
      });

      it('the session still runs correctly after all of the above', async () => {
        await runMlp(mlp, 3, 501);
      });
    });

    describe('lifecycle', () => {
      it('run after release rejects with a DisposedError; releasing twice is harmless', async () => {
        const session = await backend.loadModel(mlpBytes, { name: 'released.onnx' });
        await runMlp(session, 1, 601);
        await session.release();
        await session.release();
        const error = await expectFailure(() => session.run({ x: f32(mlpInput(1, 3), [1, MLP_K]) }), DisposedError);
        expect((error as DyTrackError).code).toBe('DISPOSED');
        await Promise.all([session.release(), session.release()]);
      });

      it('release while runs are in flight: each run succeeds or fails cleanly', async () => {
        const session = await backend.loadModel(mlpBytes, { name: 'in-flight.onnx' });
        const inputs = Array.from({ length: CONCURRENT_RUNS }, (_, i) => mlpInput(64, 700 + i));
        const runs = inputs.map((x) => session.run({ x: f32(x, [64, MLP_K]) }));
        await session.release();
        const settled = await Promise.allSettled(runs);
        settled.forEach((result, i) => {
          if (result.status === 'fulfilled') {
            expectClose(result.value.y.data, referenceMlp(inputs[i], 64, MLP_W, MLP_B, MLP_K, MLP_M), rtol);
          } else {
            expect(result.reason).toBeInstanceOf(DyTrackError);
          }
        });
        await expectFailure(() => session.run({ x: f32(mlpInput(1, 4), [1, MLP_K]) }), DisposedError);
      });

      it('dispose during a load: the load rejects with a DisposedError or its session is released', async () => {
        const own = await createBackend();
        const loading = own.loadModel(mlpBytes, { name: 'late.onnx' });
        const disposing = own.dispose();
        const outcome = await loading.then(
          (session) => ({ session }),
          (error: unknown) => ({ error }),
        );
        await disposing;
        if ('error' in outcome) expect(outcome.error).toBeInstanceOf(DisposedError);
        else await expectFailure(() => outcome.session.run({ x: f32(mlpInput(1, 6), [1, MLP_K]) }), DisposedError);
      });

      it('dispose releases every session, rejects later loads, and is harmless twice', async () => {
        const own = await createBackend();
        const a = await own.loadModel(mlpBytes, { name: 'a' });
        const b = await own.loadModel(softmaxModel(), { name: 'b' });
        await runMlp(a, 2, 801);
        await own.dispose();
        await expectFailure(() => a.run({ x: f32(mlpInput(1, 5), [1, MLP_K]) }), DisposedError);
        await expectFailure(() => b.run({ logits: f32([0, 0, 0], [1, MLP_M]) }), DisposedError);
        await expectFailure(() => own.loadModel(mlpBytes), DisposedError);
        await own.dispose();
        // Sessions released by the backend may still be released by their owner.
        await a.release();
      });
    });
  });
}
