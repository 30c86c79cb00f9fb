import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { buildModel } from '../src/onnx-models.js';
import { firstMismatch, referenceMlp, referenceRowSums, referenceSoftmax, seededUniform } from '../src/reference.js';

const { onnx } = onnxProto;

describe('buildModel', () => {
  it('writes a ModelProto with the graph, symbolic dims, attributes and raw initializers', () => {
    const bytes = buildModel({
      name: 'g',
      inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3] }],
      outputs: [{ name: 'y', dtype: 'int64', shape: ['N'] }],
      initializers: [
        { name: 'w', dtype: 'float32', dims: [2], values: [0.5, -1] },
        { name: 'k', dtype: 'int64', dims: [1], values: [2 ** 40] },
      ],
      nodes: [{ op: 'ArgMax', inputs: ['x'], outputs: ['y'], attributes: { axis: { int: 1 }, keepdims: { int: 0 } } }],
      opset: 13,
    });
    const model = onnx.ModelProto.decode(bytes);
    expect(Number(model.irVersion)).toBe(8);
    expect(Number(model.opsetImport[0].version)).toBe(13);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    expect(graph.input[0].type!.tensorType!.elemType).toBe(1);
    expect((graph.input[0].type!.tensorType!.shape!.dim ?? []).map((d) => d.dimParam || Number(d.dimValue))).toEqual(['N', 3]);
    expect(graph.output[0].type!.tensorType!.elemType).toBe(7);
    expect(graph.node[0].opType).toBe('ArgMax');
    expect((graph.node[0].attribute ?? []).map((a) => [a.name, Number(a.i)])).toEqual([
      ['axis', 1],
      ['keepdims', 0],
    ]);
    const w = graph.initializer[0];
    expect(Array.from(new Float32Array(Uint8Array.from(w.rawData as Uint8Array).buffer))).toEqual([0.5, -1]);
    expect(Array.from(new BigInt64Array(Uint8Array.from(graph.initializer[1].rawData as Uint8Array).buffer))).toEqual([2n ** 40n]);
  });
});

describe('float64 references', () => {
  it('seededUniform is deterministic and within its range', () => {
    const a = seededUniform(7, 1000, -3, 5);
    expect(seededUniform(7, 1000, -3, 5)).toEqual(a);
    expect(seededUniform(8, 1000, -3, 5)).not.toEqual(a);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(-3);
    expect(Math.max(...a)).toBeLessThan(5);
  });

  it('referenceMlp matches a hand computation', () => {
    // x = [[1, 2]], w = [[1, -1], [0.5, -2]], b = [0.25, 1]: pre = [2.25, -4] → relu [2.25, 0]
    expect(referenceMlp([1, 2], 1, [1, -1, 0.5, -2], [0.25, 1], 2, 2)).toEqual([2.25, 0]);
  });

  it('referenceSoftmax rows sum to one, are shift-invariant and stable for large logits', () => {
    const p = referenceSoftmax([1, 2, 3, 1000, 1001, 1002], 2, 3);
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 14);
    for (let i = 0; i < 3; i++) expect(p[3 + i]).toBeCloseTo(p[i], 14);
    expect(p[2] / p[1]).toBeCloseTo(Math.E, 12);
  });

  it('referenceRowSums and firstMismatch', () => {
    expect(referenceRowSums([1, 2, 3, 4, 5, 6], 2, 3)).toEqual([6, 15]);
    expect(firstMismatch([1, 2.00001], [1, 2], 1e-5, 0)).toBe(-1);
    expect(firstMismatch([1, 2.0001], [1, 2], 1e-5, 0)).toBe(1);
    expect(firstMismatch([NaN], [1], 1, 1)).toBe(0);
    expect(firstMismatch([1], [1, 2], 1, 1)).toBe(0);
  });
});
