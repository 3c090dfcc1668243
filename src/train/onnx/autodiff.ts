/**
 * Reverse-mode differentiation of an ONNX graph, written as more ONNX nodes: after
 * `addGradients(g, loss, wrt)` the graph also computes d loss / d w for every w in `wrt`, so one
 * onnxruntime run gives the loss and every gradient with native kernels (the point: tfjs' wasm
 * engine runs convolutions and their gradients single-threaded at ~10–20 GFLOP/s).
 *
 * Only the nodes on a path from a `wrt` value to the loss are differentiated; the per-op rules are
 * in gradientRules.ts. Contributions to one value from several consumers are summed (Sum node).
 *
 * Written by hand: onnxruntime's own gradient builder ships only in its training build
 * (onnxruntime-training), which is not on the npm registry for Node.
 */
import { attr, type AttrValue, consumers, type OnnxGraph, type OnnxNode } from '../../export/onnxGraph.ts';
import { OnnxTrainingError } from './errors.ts';
import { NCHWC_DOMAIN } from '../../export/nchwc.ts';
import { batchNormGradient } from './batchNormGradient.ts';
import { GRADIENT_RULES, softmaxGradientFromProduct } from './gradientRules.ts';
import { NCHWC_GRADIENT_RULES } from './nchwcRules.ts';
import { type Dims, inferShapes } from './shapes.ts';

/** What a gradient rule works with: the graph, forward shapes, and small node builders. */
export class GradientContext {
  readonly shapes: Map<string, Dims>;

  /** Writer of each value, for the graph's first `indexed` nodes (nodes are only appended while gradients are built). */
  private readonly producerOf = new Map<string, OnnxNode>();
  private indexed = 0;

  constructor(
    readonly g: OnnxGraph,
    private readonly needed: Set<string>,
  ) {
    this.shapes = inferShapes(g);
  }

  /** The node that writes `name`, forward or gradient (undefined for inputs and initializers). */
  producer(name: string): OnnxNode | undefined {
    for (; this.indexed < this.g.nodes.length; this.indexed++) {
      const n = this.g.nodes[this.indexed]!;
      for (const o of n.outputs) this.producerOf.set(o, n);
    }
    return this.producerOf.get(name);
  }

  /** Whether the gradient of `name` is needed (it lies between a wrt value and the loss). */
  needs(name: string | undefined): boolean {
    return name !== undefined && name !== '' && this.needed.has(name);
  }

  shape(name: string): Dims {
    const s = this.shapes.get(name);
    if (!s) throw new OnnxTrainingError(`internal: no shape for '${name}'`);
    return s;
  }

  op(opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    return this.g.op(opType, inputs, `grad/${base}`, attrs);
  }

  ints(base: string, values: number[]): string {
    return this.g.addInt64(`grad/${base}`, values);
  }

  scalar(base: string, v: number): string {
    return this.g.addFloat(`grad/${base}`, Float32Array.of(v), []);
  }

  reshape(x: string, dims: Dims, base: string): string {
    return this.op('Reshape', [x, this.ints(`${base}/shape`, dims)], `${base}/reshape`);
  }

  transpose(x: string, perm: number[], base: string): string {
    return this.op('Transpose', [x], `${base}/transpose`, { perm: attr.ints(perm) });
  }

  reduceSum(x: string, axes: number[], keepdims: boolean, base: string): string {
    return this.op('ReduceSum', [x, this.ints(`${base}/axes`, axes)], `${base}/sum`, { keepdims: attr.int(keepdims ? 1 : 0) });
  }

  /** Sum a gradient of broadcast shape `from` down to the operand's shape `to` (undo numpy broadcasting). */
  unbroadcast(grad: string, from: Dims, to: Dims, base: string): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return grad;
    const lead = from.length - to.length;
    const axes: number[] = [];
    from.forEach((d, i) => {
      const t = i < lead ? 1 : to[i - lead]!;
      if (i < lead || (t === 1 && d !== 1)) axes.push(i);
    });
    const summed = axes.length ? this.reduceSum(grad, axes, true, base) : grad;
    return this.reshape(summed, to, `${base}/to`);
  }

  /** Broadcast `grad` (a reduction's gradient in keepdims form) to shape `to`. */
  expand(grad: string, to: Dims, base: string): string {
    return this.op('Expand', [grad, this.ints(`${base}/expand_shape`, to)], `${base}/expand`);
  }
}

/**
 * The gradient rule of one op: the gradients of the node's inputs (undefined where not needed)
 * from those of its outputs (undefined for outputs nothing differentiates).
 */
export type GradientRule = (ctx: GradientContext, node: OnnxNode, dOutputs: Array<string | undefined>) => Array<string | undefined>;

/** The rules of each operator set domain ('' = ONNX's own). */
const RULES_BY_DOMAIN: Readonly<Record<string, Readonly<Record<string, GradientRule>>>> = { '': GRADIENT_RULES, [NCHWC_DOMAIN]: NCHWC_GRADIENT_RULES };

/** Values on a path from any of `from` to `to` (both ends included). */
function valuesBetween(g: OnnxGraph, from: string[], to: string): Set<string> {
  const forward = new Set(from);
  for (const n of g.nodes) if (n.inputs.some((i) => forward.has(i))) for (const o of n.outputs) forward.add(o);
  const backward = new Set([to]);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i]!;
    if (n.outputs.some((o) => backward.has(o))) for (const x of n.inputs) if (x) backward.add(x);
  }
  return new Set([...forward].filter((v) => backward.has(v)));
}

/**
 * Append to `g` the nodes computing d loss / d w for each w in `wrt` (graph inputs or values);
 * returns their names, in the order of `wrt`. `loss` must be a scalar value of `g`. A wrt value the
 * loss does not depend on gets a zero gradient.
 */
export function addGradients(g: OnnxGraph, loss: string, wrt: string[]): string[] {
  const needed = valuesBetween(g, wrt, loss);
  const ctx = new GradientContext(g, needed);
  if (ctx.shape(loss).length !== 0) throw new OnnxTrainingError(`the loss '${loss}' must be a scalar, has shape [${ctx.shape(loss)}]`);
  const forward = g.nodes.slice();
  const contributions = new Map<string, string[]>();
  const add = (name: string, grad: string) => {
    const list = contributions.get(name);
    if (list) list.push(grad);
    else contributions.set(name, [grad]);
  };
  const total = (name: string): string | undefined => {
    const list = contributions.get(name);
    if (!list || list.length === 0) return undefined;
    if (list.length === 1) return list[0]!;
    const sum = ctx.op('Sum', list, `${name}/accumulate`);
    contributions.set(name, [sum]);
    return sum;
  };
  add(loss, ctx.g.addFloat('grad/seed', Float32Array.of(1), []));
  // Training-mode BN layers: one closed-form rule for the nodes of each (batchNormGradient.ts).
  const regions = g.training?.batchNormRegions ?? [];
  const regionOf = new Map(regions.map((r) => [r.y, r]));
  const inRegion = new Set(regions.flatMap((r) => r.nodes));
  // Softmaxes that feed only o = probs·v: rowsum(dprobs ⊙ probs) from o instead of the N×N map.
  const readers = consumers(g);
  const productOf = new Map((g.training?.softmaxProducts ?? []).filter((p) => readers.get(p.probs)?.length === 1).map((p) => [p.probs, p.product]));
  for (let i = forward.length - 1; i >= 0; i--) {
    const node = forward[i]!;
    if (inRegion.has(node.name)) {
      const r = regionOf.get(node.outputs[0]!);
      const dy = r && needed.has(r.y) ? total(r.y) : undefined;
      if (!r || !dy) continue; // an inner node: its region's rule covers it
      const d = batchNormGradient(ctx, r, dy);
      for (const [value, grad] of [[r.x, d.x], [r.gamma, d.gamma], [r.beta, d.beta]] as const) if (value && grad && ctx.needs(value)) add(value, grad);
      continue;
    }
    if (!node.outputs.some((o) => needed.has(o)) || !node.inputs.some((x) => ctx.needs(x))) continue;
    const dOutputs = node.outputs.map((o) => (needed.has(o) ? total(o) : undefined));
    if (dOutputs.every((d) => d === undefined)) continue;
    const product = node.opType === 'Softmax' && !node.domain ? productOf.get(node.outputs[0]!) : undefined;
    const dProduct = product ? total(product) : undefined;
    const productNode = product ? ctx.producer(product) : undefined;
    if (productNode && dProduct && dOutputs[0]) {
      add(node.inputs[0]!, softmaxGradientFromProduct(ctx, node, productNode, dProduct));
      continue;
    }
    const rules = RULES_BY_DOMAIN[node.domain ?? ''] ?? {};
    const rule = rules[node.opType];
    const op = node.domain ? `${node.domain}:${node.opType}` : node.opType;
    if (!rule) throw new OnnxTrainingError(`no gradient rule for op ${op} (node '${node.name}'); ONNX training graphs support ${Object.keys(GRADIENT_RULES).join(', ')}`);
    const dInputs = rule(ctx, node, dOutputs);
    node.inputs.forEach((x, k) => {
      const d = dInputs[k];
      if (d && ctx.needs(x)) add(x, d);
    });
  }
  return wrt.map((w) => {
    const d = total(w);
    if (d) return d;
    const dims = ctx.shape(w);
    return ctx.op('ConstantOfShape', [ctx.ints(`${w}/zero_shape`, dims)], `${w}/zero`);
  });
}
