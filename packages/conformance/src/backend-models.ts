import type { TensorDType } from '@dytrack/core';
import { buildModel } from './onnx-models.js';
import { seededUniform } from './reference.js';

/** Weights of the MLP model, already rounded to float32 so the float64 reference sees what ORT sees. */
export const MLP_K = 4;
export const MLP_M = 3;
export const MLP_W = seededUniform(11, MLP_K * MLP_M).map(Math.fround);
export const MLP_B = seededUniform(12, MLP_M, -0.5, 0.5).map(Math.fround);

/** `y = relu(x @ W + B)`, x [N, 4] → y [N, 3], batch dimension symbolic. */
export function mlpModel(): Uint8Array {
  return buildModel({
    name: 'mlp',
    inputs: [{ name: 'x', dtype: 'float32', shape: ['N', MLP_K] }],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['N', MLP_M] }],
    initializers: [
      { name: 'W', dtype: 'float32', dims: [MLP_K, MLP_M], values: MLP_W },
      { name: 'B', dtype: 'float32', dims: [MLP_M], values: MLP_B },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
      { op: 'Add', inputs: ['xw', 'B'], outputs: ['pre'] },
      { op: 'Relu', inputs: ['pre'], outputs: ['y'] },
    ],
  });
}

/** Softmax over the last axis, logits [N, 3] → probs [N, 3]. */
export function softmaxModel(): Uint8Array {
  return buildModel({
    name: 'softmax',
    inputs: [{ name: 'logits', dtype: 'float32', shape: ['N', MLP_M] }],
    outputs: [{ name: 'probs', dtype: 'float32', shape: ['N', MLP_M] }],
    nodes: [{ op: 'Softmax', inputs: ['logits'], outputs: ['probs'], attributes: { axis: { int: -1 } } }],
  });
}

/** x [3, 4] → doubled, negated, squared [3, 4] and rowSums [3]. */
export function multiOutputModel(): Uint8Array {
  return buildModel({
    name: 'multi',
    inputs: [{ name: 'x', dtype: 'float32', shape: [3, 4] }],
    outputs: [
      { name: 'doubled', dtype: 'float32', shape: [3, 4] },
      { name: 'negated', dtype: 'float32', shape: [3, 4] },
      { name: 'squared', dtype: 'float32', shape: [3, 4] },
      { name: 'rowSums', dtype: 'float32', shape: [3] },
    ],
    initializers: [{ name: 'axes', dtype: 'int64', dims: [1], values: [1] }],
    nodes: [
      { op: 'Add', inputs: ['x', 'x'], outputs: ['doubled'] },
      { op: 'Neg', inputs: ['x'], outputs: ['negated'] },
      { op: 'Mul', inputs: ['x', 'x'], outputs: ['squared'] },
      { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['rowSums'], attributes: { keepdims: { int: 0 } } },
    ],
  });
}

/** int64 a + b [4] → sum, int32 c * c [2, 3] → cSquared. */
export function integerModel(): Uint8Array {
  return buildModel({
    name: 'integer',
    inputs: [
      { name: 'a', dtype: 'int64', shape: [4] },
      { name: 'b', dtype: 'int64', shape: [4] },
      { name: 'c', dtype: 'int32', shape: [2, 3] },
    ],
    outputs: [
      { name: 'sum', dtype: 'int64', shape: [4] },
      { name: 'cSquared', dtype: 'int32', shape: [2, 3] },
    ],
    nodes: [
      { op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] },
      { op: 'Mul', inputs: ['c', 'c'], outputs: ['cSquared'] },
    ],
  });
}

/** uint8 pixels [2, 3] → float32 values (Cast) and bool mask (values > 100); float64 d [N] → d * d. */
export function castModel(): Uint8Array {
  return buildModel({
    name: 'cast',
    inputs: [
      { name: 'pixels', dtype: 'uint8', shape: [2, 3] },
      { name: 'd', dtype: 'float64', shape: ['N'] },
    ],
    outputs: [
      { name: 'values', dtype: 'float32', shape: [2, 3] },
      { name: 'bright', dtype: 'bool', shape: [2, 3] },
      { name: 'dSquared', dtype: 'float64', shape: ['N'] },
    ],
    initializers: [{ name: 'threshold', dtype: 'float32', dims: [], values: [100] }],
    nodes: [
      { op: 'Cast', inputs: ['pixels'], outputs: ['values'], attributes: { to: { int: 1 } } },
      { op: 'Greater', inputs: ['values', 'threshold'], outputs: ['bright'] },
      { op: 'Mul', inputs: ['d', 'd'], outputs: ['dSquared'] },
    ],
  });
}

/** Identity on one dtype, x [2, 'M'] → y: the bits must come back unchanged. */
export function identityModel(dtype: TensorDType): Uint8Array {
  return buildModel({
    name: `identity-${dtype}`,
    inputs: [{ name: 'x', dtype, shape: [2, 'M'] }],
    outputs: [{ name: 'y', dtype, shape: [2, 'M'] }],
    nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
  });
}
