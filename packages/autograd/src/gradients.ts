import { DyTrackError, InvalidArgumentError } from '@dytrack/core';
import type { Graph, GraphNode, Value } from '@dytrack/onnx';
import { isFloatDType } from '@dytrack/onnx';
import type { GradientRules } from './rules.js';
import { NON_DIFFERENTIABLE_OPS, defaultGradientRules, zerosLike } from './rules.js';

/** An op on the path from the parameters to the loss has no gradient rule. Code `UNSUPPORTED`. */
export class NoGradientRuleError extends DyTrackError {
  /** The ONNX op type that has no rule. */
  readonly opType: string;
  /** Name of the offending node. */
  readonly nodeName: string;

  constructor(opType: string, nodeName: string) {
    super('UNSUPPORTED', `no gradient rule for op ${opType} (node ${nodeName}); add one with the \`rules\` option`);
    this.name = 'NoGradientRuleError';
    this.opType = opType;
    this.nodeName = nodeName;
  }
}

const stopped = new WeakSet<Value>();

/**
 * Returns `x` through an `Identity` node that {@link gradients} treats as a constant:
 * nothing flows back through it (`x.detach()` in PyTorch).
 */
export function stopGradient(g: Graph, x: Value): Value {
  const y = g.op1('Identity', [x], undefined, { name: 'StopGradient' });
  stopped.add(y);
  return y;
}

/** Options for {@link gradients}. */
export interface GradientOptions {
  /** Extra or replacement rules by op type, consulted before the defaults. */
  readonly rules?: GradientRules;
  /** Gradient of the final result w.r.t. `loss` (default: ones, i.e. `loss` is summed). */
  readonly seed?: Value;
  /** Values treated as constants, in addition to {@link stopGradient} outputs. */
  readonly stopAt?: readonly Value[];
}

/**
 * Appends to `g` the reverse-mode gradient of `loss` (summed when not a scalar) with
 * respect to each of `wrt`, and returns one gradient Value per entry of `wrt`, shaped like
 * it. A `wrt` value that does not influence the loss gets a zero tensor.
 *
 * Only nodes on a path from some `wrt` to `loss` are differentiated; unused branches cost
 * nothing. Every such node needs a rule ({@link defaultGradientRules} or `options.rules`),
 * otherwise a {@link NoGradientRuleError} naming the op is thrown now, at build time.
 * Shapes on that path must be static (broadcast gradients are reduced at build time).
 */
export function gradients(g: Graph, loss: Value, wrt: readonly Value[], options: GradientOptions = {}): Value[] {
  if (loss.graph !== g) throw new InvalidArgumentError(`gradients: loss ${loss.name} belongs to another graph`);
  if (!isFloatDType(loss.dtype)) throw new InvalidArgumentError(`gradients: loss ${loss.name} is ${loss.dtype}, not a float`);
  for (const w of wrt) {
    if (w.graph !== g) throw new InvalidArgumentError(`gradients: ${w.name} belongs to another graph`);
    if (!isFloatDType(w.dtype)) throw new InvalidArgumentError(`gradients: cannot differentiate w.r.t. ${w.name} of type ${w.dtype}`);
  }
  if (options.seed) {
    const seed = options.seed;
    if (seed.graph !== g || seed.dtype !== loss.dtype || seed.staticShape().join(',') !== loss.staticShape().join(',')) {
      throw new InvalidArgumentError(`gradients: seed ${seed} must match loss ${loss}`);
    }
  }
  const rules = { ...defaultGradientRules, ...options.rules };
  const stopSet = new Set(options.stopAt ?? []);
  const isStopped = (v: Value) => stopped.has(v) || stopSet.has(v);

  // Snapshot: backward nodes appended below are not part of the forward pass.
  const nodes = g.nodes.slice();

  // Forward reachability from wrt.
  const fromWrt = new Set<Value>(wrt);
  for (const node of nodes) {
    if (NON_DIFFERENTIABLE_OPS.has(node.opType)) continue;
    if (node.inputs.some((v) => v !== undefined && fromWrt.has(v))) {
      for (const o of node.outputs) if (isFloatDType(o.dtype) && !isStopped(o)) fromWrt.add(o);
    }
  }
  // Backward reachability from loss, restricted to values reachable from wrt.
  const toLoss = new Set<Value>([loss]);
  const active: GraphNode[] = [];
  // A value with a gradient override (Graph.setGradient) leads back to the override's inputs,
  // not through the nodes that compute it.
  const overrideOf = (node: GraphNode) => (node.outputs.length === 1 ? g.gradientOverride(node.outputs[0]) : undefined);
  for (let i = nodes.length - 1; i >= 0; i--) {
    const node = nodes[i];
    if (!node.outputs.some((o) => toLoss.has(o) && fromWrt.has(o))) continue;
    active.push(node);
    for (const v of overrideOf(node)?.inputs ?? node.inputs) if (v !== undefined && fromWrt.has(v)) toLoss.add(v);
  }
  // Fail before emitting anything when a rule is missing.
  for (const node of active) {
    if (overrideOf(node)) continue;
    if (!rules[node.opType] && node.domain === '') throw new NoGradientRuleError(node.opType, node.name);
    if (node.domain !== '' && !rules[`${node.domain}.${node.opType}`]) throw new NoGradientRuleError(`${node.domain}.${node.opType}`, node.name);
  }

  const pending = new Map<Value, Value[]>();
  const accumulate = (v: Value, grad: Value) => {
    const list = pending.get(v);
    if (list) list.push(grad);
    else pending.set(v, [grad]);
  };
  const collect = (v: Value): Value | undefined => {
    const list = pending.get(v);
    if (!list) return undefined;
    const total = list.length === 1 ? list[0] : g.op('Sum', list);
    pending.set(v, [total]);
    return total;
  };

  return g.scope(g.uniqueName(g.scopePrefix + 'grad').slice(g.scopePrefix.length), () => {
    accumulate(loss, options.seed ?? g.expand(g.scalar(1, loss.dtype), loss.staticShape()));
    for (const node of active) {
      const dy = node.outputs.map((o) => (toLoss.has(o) ? collect(o) : undefined));
      if (dy.every((d) => d === undefined)) continue;
      const override = overrideOf(node);
      if (override) {
        const grads = g.scope(node.name.replace(/\//g, '.'), () => override.backward(dy[0]!));
        override.inputs.forEach((v, i) => {
          const grad = grads[i];
          if (!grad) throw new InvalidArgumentError(`gradient override of ${node.outputs[0]!.name} returned no gradient for ${v.name}`);
          if (grad.shape && v.shape && grad.shape.join(',') !== v.shape.join(',')) {
            throw new InvalidArgumentError(`gradient override of ${node.outputs[0]!.name} returned shape [${grad.shape.join(',')}] for ${v.name} of shape [${v.shape.join(',')}]`);
          }
          if (fromWrt.has(v) && toLoss.has(v)) accumulate(v, grad);
        });
        continue;
      }
      const needsGrad = node.inputs.map((v) => v !== undefined && fromWrt.has(v) && toLoss.has(v));
      const rule = rules[node.domain === '' ? node.opType : `${node.domain}.${node.opType}`];
      const grads = g.scope(node.name.replace(/\//g, '.'), () => rule({ g, node, dy, needsGrad }));
      node.inputs.forEach((v, i) => {
        const grad = grads[i];
        if (!v || !needsGrad[i] || !grad) return;
        if (grad.shape && v.shape && grad.shape.join(',') !== v.shape.join(',')) {
          throw new InvalidArgumentError(`gradient rule for ${node.opType} (${node.name}) returned shape [${grad.shape.join(',')}] for input ${v.name} of shape [${v.shape.join(',')}]`);
        }
        accumulate(v, grad);
      });
    }
    return wrt.map((w) => collect(w) ?? zerosLike(g, w));
  });
}
