import { InvalidArgumentError } from '@dytrack/core';
import type { Attribute } from './attributes.js';
import { intAttr, intsAttr } from './attributes.js';

/**
 * The spatial geometry of a `Conv` or `ConvTranspose` node with its defaults filled in:
 * `spatial` axes, and per axis the kernel size, stride, dilation and the padding at each end.
 * Only explicit padding (`auto_pad` `NOTSET`, the default, or `VALID`) is supported.
 */
export interface ConvGeometry {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly dilations: readonly number[];
  /** Padding at the start of each spatial axis. */
  readonly padsBegin: readonly number[];
  /** Padding at the end of each spatial axis. */
  readonly padsEnd: readonly number[];
  readonly group: number;
}

/** Reads a Conv/ConvTranspose node's geometry; `kernel` comes from the weight's static shape. */
export function convGeometry(opType: string, attrs: Readonly<Record<string, Attribute>>, weightShape: readonly number[]): ConvGeometry {
  const n = weightShape.length - 2;
  if (n < 1) throw new InvalidArgumentError(`${opType}: the weight must have rank >= 3, got [${weightShape.join(',')}]`);
  const autoPad = attrs.auto_pad?.type === 'string' ? attrs.auto_pad.value : 'NOTSET';
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') throw new InvalidArgumentError(`${opType}: auto_pad ${autoPad} is not supported; give explicit pads`);
  const kernel = weightShape.slice(2);
  const given = intsAttr(attrs, 'kernel_shape');
  if (given && (given.length !== n || given.some((k, i) => k !== kernel[i]))) {
    throw new InvalidArgumentError(`${opType}: kernel_shape [${given.join(',')}] does not match the weight [${weightShape.join(',')}]`);
  }
  const list = (name: string, fallback: number, length: number): number[] => {
    const v = intsAttr(attrs, name);
    if (v === undefined) return new Array<number>(length).fill(fallback);
    if (v.length !== length) throw new InvalidArgumentError(`${opType}: ${name} has ${v.length} entries, expected ${length}`);
    return [...v];
  };
  const strides = list('strides', 1, n);
  const dilations = list('dilations', 1, n);
  const pads = autoPad === 'VALID' ? new Array<number>(2 * n).fill(0) : list('pads', 0, 2 * n);
  for (const [name, v, min] of [['strides', strides, 1], ['dilations', dilations, 1], ['pads', pads, 0]] as const) {
    if (v.some((x) => !Number.isInteger(x) || x < min)) throw new InvalidArgumentError(`${opType}: ${name} must be integers >= ${min}, got [${v.join(',')}]`);
  }
  const group = intAttr(attrs, 'group', 1);
  if (!Number.isInteger(group) || group < 1) throw new InvalidArgumentError(`${opType}: group must be a positive integer, got ${group}`);
  return { kernel, strides, dilations, padsBegin: pads.slice(0, n), padsEnd: pads.slice(n), group };
}

/** Output length of one spatial axis of a convolution. */
export function convOutputSize(size: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number): number {
  return Math.floor((size + padBegin + padEnd - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

/** Output length of one spatial axis of a transposed convolution (ONNX's formula, explicit pads). */
export function convTransposeOutputSize(size: number, kernel: number, stride: number, dilation: number, padBegin: number, padEnd: number, outputPadding: number): number {
  return stride * (size - 1) + outputPadding + ((kernel - 1) * dilation + 1) - padBegin - padEnd;
}
