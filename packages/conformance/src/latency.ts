import { buildModel, type InitializerSpec } from './onnx-models.js';

/** Shape of {@link mlpBlockModel}: a DyTrack-tiny-sized MLP block (197 tokens, width 192, hidden 768). */
export const MLP_BLOCK = { tokens: 197, width: 192, hidden: 768 } as const;

function weights(name: string, dims: number[]): InitializerSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dtype: 'float32', dims, values: Array.from({ length: n }, (_, i) => Math.sin(i) * 0.05) };
}

/**
 * A residual MLP block `y = x + W2 relu(W1 x + b1) + b2` with input `x` and output `y`
 * of shape `[tokens, width]`: the workload backend latency benchmarks time.
 */
export function mlpBlockModel(): Uint8Array {
  const { tokens, width, hidden } = MLP_BLOCK;
  return buildModel({
    name: 'mlp-block',
    inputs: [{ name: 'x', dtype: 'float32', shape: [tokens, width] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: [tokens, width] }],
    initializers: [weights('w1', [width, hidden]), weights('b1', [hidden]), weights('w2', [hidden, width]), weights('b2', [width])],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'w1'], outputs: ['h0'] },
      { op: 'Add', inputs: ['h0', 'b1'], outputs: ['h1'] },
      { op: 'Relu', inputs: ['h1'], outputs: ['h2'] },
      { op: 'MatMul', inputs: ['h2', 'w2'], outputs: ['y0'] },
      { op: 'Add', inputs: ['y0', 'b2'], outputs: ['y1'] },
      { op: 'Add', inputs: ['y1', 'x'], outputs: ['y'] },
    ],
  });
}

/** A deterministic input for {@link mlpBlockModel}. */
export function mlpBlockInput(): Float32Array {
  return Float32Array.from({ length: MLP_BLOCK.tokens * MLP_BLOCK.width }, (_, i) => Math.cos(i) * 0.1);
}

/**
 * Median milliseconds of `a` and `b`, timed alternately so that load from other
 * processes hits both alike (the machines are shared).
 */
export async function alternatingMedians(a: () => Promise<void>, b: () => Promise<void>, repeats = 200, warmup = 20): Promise<[number, number]> {
  for (let i = 0; i < warmup; i++) {
    await a();
    await b();
  }
  const times: [number[], number[]] = [[], []];
  for (let i = 0; i < repeats; i++) {
    for (const [k, run] of [a, b].entries()) {
      const t0 = performance.now();
      await run();
      times[k]!.push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((x, y) => x - y)[t.length >> 1]!) as [number, number];
}
