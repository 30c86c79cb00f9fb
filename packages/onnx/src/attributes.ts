import type { HostTensor } from '@dytrack/core';
import { InvalidArgumentError, describeValue } from '@dytrack/core';

/**
 * A node attribute in normalised, tagged form. This is what {@link GraphNode.attributes}
 * holds, so code that walks a graph (autograd, exporters) never guesses int from float.
 */
export type Attribute =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'strings'; readonly value: readonly string[] }
  | { readonly type: 'tensor'; readonly value: HostTensor };

/**
 * What op helpers accept as an attribute value. Plain numbers become `int` when they are
 * integers and `float` otherwise; arrays likewise (all integers: `ints`). Use
 * {@link floatAttr} / {@link floatsAttr} to force a float for a whole number (`alpha: floatAttr(1)`).
 */
export type AttributeInput = number | string | readonly number[] | readonly string[] | Attribute;

/** Map of attribute inputs, keyed by attribute name. */
export type AttributesInput = Readonly<Record<string, AttributeInput | undefined>>;

/** Forces a float attribute, even for a whole number. */
export function floatAttr(value: number): Attribute {
  return { type: 'float', value };
}

/** Forces a floats attribute, even when every element is a whole number. */
export function floatsAttr(value: readonly number[]): Attribute {
  return { type: 'floats', value: [...value] };
}

/** A tensor-valued attribute (the `value` of a `Constant` node, for example). */
export function tensorAttr(value: HostTensor): Attribute {
  return { type: 'tensor', value };
}

function isTagged(v: AttributeInput): v is Attribute {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'type' in v;
}

/** Normalises one attribute input to its tagged form. */
export function normalizeAttribute(name: string, v: AttributeInput): Attribute {
  if (isTagged(v)) return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) && !Number.isNaN(v)) return { type: 'float', value: v };
    return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  }
  if (typeof v === 'string') return { type: 'string', value: v };
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) {
      return v.length === 0 ? { type: 'ints', value: [] } : { type: 'strings', value: [...(v as string[])] };
    }
    if (v.every((x) => typeof x === 'number')) {
      const nums = v as number[];
      return nums.every((x) => Number.isInteger(x)) ? { type: 'ints', value: [...nums] } : { type: 'floats', value: [...nums] };
    }
  }
  throw new InvalidArgumentError(`attribute ${name}: unsupported value ${describeValue(v)}`);
}

/** Normalises a map of attribute inputs; `undefined` entries are dropped. */
export function normalizeAttributes(attrs: AttributesInput | undefined): Record<string, Attribute> {
  const out: Record<string, Attribute> = {};
  if (!attrs) return out;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    out[k] = normalizeAttribute(k, v);
  }
  return out;
}

/** Reads an `int` attribute, or `fallback` when absent. */
export function intAttr(attrs: Readonly<Record<string, Attribute>>, name: string, fallback: number): number {
  const a = attrs[name];
  if (a === undefined) return fallback;
  if (a.type !== 'int' && a.type !== 'float') throw new InvalidArgumentError(`attribute ${name} is not a number`);
  return a.value;
}

/** Reads a `float` (or int) attribute, or `fallback` when absent. */
export function numberAttr(attrs: Readonly<Record<string, Attribute>>, name: string, fallback: number): number {
  return intAttr(attrs, name, fallback);
}

/** Reads an `ints` attribute, or `undefined` when absent. */
export function intsAttr(attrs: Readonly<Record<string, Attribute>>, name: string): readonly number[] | undefined {
  const a = attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints' && a.type !== 'floats') throw new InvalidArgumentError(`attribute ${name} is not a list of numbers`);
  return a.value;
}
