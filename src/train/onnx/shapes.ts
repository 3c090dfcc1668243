/**
 * Static shape inference over a training graph (fixed batch size, so every shape is known): the
 * gradient rules need the shape of each forward value to undo broadcasting and to size their
 * reshapes. Covers the ops fdft's exporter writes and the ops of the loss; anything else is a
 * named error (OnnxTrainingError) rather than a wrong graph.
 *
 * Written by hand because no npm package infers ONNX shapes without onnxruntime's C++ internals.
 */
import { NCHWC_DOMAIN, nchwcChannels } from '../../export/nchwc.ts';
import { type OnnxGraph, type OnnxNode, readAttr } from '../../export/onnxGraph.ts';
import { OnnxTrainingError } from './errors.ts';

export type Dims = number[];

const UNARY = new Set([
  'Relu', 'Clip', 'Sigmoid', 'HardSigmoid', 'Tanh', 'Log', 'Exp', 'Neg', 'Sqrt', 'Reciprocal', 'Identity',
  'Softmax', 'LogSoftmax', 'LeakyRelu', 'Elu', 'Abs',
  // Inference BN (moving statistics), in a frozen backbone inside a training graph where no conv
  // precedes it to fold into (ResNetV2's pre-activation BNs); no gradient passes it.
  'BatchNormalization',
]);
const BROADCAST = new Set(['Add', 'Sub', 'Mul', 'Div', 'Max', 'Min', 'Sum', 'Mean', 'Where', 'Pow']);

/** numpy broadcasting of several shapes. */
export function broadcastDims(shapes: Dims[], where: string): Dims {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dims = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const v = s[s.length - rank + i] ?? 1;
      if (v === 1) continue;
      if (d !== 1 && d !== v) throw new OnnxTrainingError(`${where}: shapes [${shapes.map((x) => x.join(',')).join('] [')}] do not broadcast`);
      d = v;
    }
    out.push(d);
  }
  return out;
}

const intAttr = readAttr.int;
const intsAttr = (n: OnnxNode, key: string): number[] | undefined => readAttr.ints(n, key, undefined);

/** The values of an int64 initializer (shapes, axes, pads). */
export function int64Values(g: OnnxGraph, name: string | undefined, where: string): number[] {
  const t = name ? g.initializers.get(name) : undefined;
  if (!t || !(t.data instanceof BigInt64Array)) throw new OnnxTrainingError(`${where}: '${name}' must be a constant int64 initializer`);
  return Array.from(t.data, Number);
}

const product = (d: Dims) => d.reduce((a, b) => a * b, 1);

/** Output size of a window op along one axis (ONNX, ceil_mode 0). */
function windowOut(size: number, k: number, s: number, d: number, p0: number, p1: number): number {
  return Math.floor((size + p0 + p1 - (d * (k - 1) + 1)) / s) + 1;
}

function windowShape(n: OnnxNode, x: Dims, outChannels: number, kernel: number[]): Dims {
  const strides = intsAttr(n, 'strides') ?? [1, 1];
  const dil = intsAttr(n, 'dilations') ?? [1, 1];
  const pads = intsAttr(n, 'pads') ?? [0, 0, 0, 0];
  return [
    x[0]!,
    outChannels,
    windowOut(x[2]!, kernel[0]!, strides[0]!, dil[0]!, pads[0]!, pads[2]!),
    windowOut(x[3]!, kernel[1]!, strides[1]!, dil[1]!, pads[1]!, pads[3]!),
  ];
}

function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

function reduceShape(x: Dims, axes: number[] | undefined, keep: boolean): Dims {
  const all = axes === undefined || axes.length === 0;
  const set = new Set((axes ?? []).map((a) => normAxis(a, x.length)));
  const out: Dims = [];
  x.forEach((d, i) => {
    if (all || set.has(i)) {
      if (keep) out.push(1);
    } else out.push(d);
  });
  return out;
}

/** Shapes of one node's outputs from its inputs' shapes. */
function nodeShapes(g: OnnxGraph, n: OnnxNode, shape: (name: string) => Dims): Dims[] {
  const x = () => shape(n.inputs[0]!);
  const where = `${n.opType} '${n.name}'`;
  if (n.domain) return nchwcShapes(g, n, shape, where);
  if (UNARY.has(n.opType)) return [x()];
  if (BROADCAST.has(n.opType)) return [broadcastDims(n.inputs.filter(Boolean).map(shape), where)];
  switch (n.opType) {
    case 'Transpose': {
      const s = x();
      const perm = intsAttr(n, 'perm') ?? s.map((_, i) => s.length - 1 - i);
      return [perm.map((p) => s[p]!)];
    }
    case 'Reshape': {
      const s = x();
      const target = int64Values(g, n.inputs[1], where).map((d, i) => (d === 0 ? s[i]! : d));
      const known = product(target.filter((d) => d !== -1));
      return [target.map((d) => (d === -1 ? product(s) / known : d))];
    }
    case 'Flatten': {
      const s = x();
      const axis = normAxis(intAttr(n, 'axis', 1), s.length);
      return [[product(s.slice(0, axis)), product(s.slice(axis))]];
    }
    case 'Conv': {
      const w = shape(n.inputs[1]!);
      return [windowShape(n, x(), w[0]!, w.slice(2))];
    }
    case 'MaxPool':
    case 'AveragePool': {
      const s = x();
      const out = windowShape(n, s, s[1]!, intsAttr(n, 'kernel_shape')!);
      return n.outputs.length > 1 ? [out, out] : [out];
    }
    case 'GlobalAveragePool':
    case 'GlobalMaxPool': {
      const s = x();
      return [[s[0]!, s[1]!, ...s.slice(2).map(() => 1)]];
    }
    case 'MatMul': {
      const a = shape(n.inputs[0]!);
      const b = shape(n.inputs[1]!);
      if (a.length < 2 || b.length < 2) throw new OnnxTrainingError(`${where}: rank-1 operands are not supported`);
      const batch = broadcastDims([a.slice(0, -2), b.slice(0, -2)], where);
      return [[...batch, a[a.length - 2]!, b[b.length - 1]!]];
    }
    case 'Gemm': {
      const a = shape(n.inputs[0]!);
      const b = shape(n.inputs[1]!);
      const m = intAttr(n, 'transA', 0) ? a[1]! : a[0]!;
      const k = intAttr(n, 'transB', 0) ? b[0]! : b[1]!;
      return [[m, k]];
    }
    case 'Pad': {
      const s = x();
      const pads = int64Values(g, n.inputs[1], where);
      return [s.map((d, i) => d + pads[i]! + pads[i + s.length]!)];
    }
    case 'Concat': {
      const shapes = n.inputs.map(shape);
      const axis = normAxis(intAttr(n, 'axis', 0), shapes[0]!.length);
      const out = shapes[0]!.slice();
      out[axis] = shapes.reduce((sum, s) => sum + s[axis]!, 0);
      return [out];
    }
    case 'Split': {
      const s = x();
      const axis = normAxis(intAttr(n, 'axis', 0), s.length);
      const sizes = int64Values(g, n.inputs[1], where);
      return sizes.map((size) => s.map((d, i) => (i === axis ? size : d)));
    }
    case 'Slice': {
      const s = x().slice();
      const starts = int64Values(g, n.inputs[1], where);
      const ends = int64Values(g, n.inputs[2], where);
      const axes = n.inputs[3] ? int64Values(g, n.inputs[3], where) : starts.map((_, i) => i);
      const steps = n.inputs[4] ? int64Values(g, n.inputs[4], where) : starts.map(() => 1);
      axes.forEach((a0, i) => {
        const a = normAxis(a0, s.length);
        const size = s[a]!;
        const step = steps[i]!;
        const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
        let b = starts[i]! < 0 ? starts[i]! + size : starts[i]!;
        let e = ends[i]! < 0 ? ends[i]! + size : ends[i]!;
        if (step > 0) {
          b = clamp(b, 0, size);
          e = clamp(e, 0, size);
          s[a] = Math.max(0, Math.ceil((e - b) / step));
        } else {
          b = clamp(b, -1, size - 1);
          e = clamp(e, -1, size - 1);
          s[a] = Math.max(0, Math.ceil((b - e) / -step));
        }
      });
      return [s];
    }
    case 'ReduceMean':
    case 'ReduceMax':
      return [reduceShape(x(), intsAttr(n, 'axes'), intAttr(n, 'keepdims', 1) === 1)];
    case 'ReduceSum':
      return [reduceShape(x(), n.inputs[1] ? int64Values(g, n.inputs[1], where) : undefined, intAttr(n, 'keepdims', 1) === 1)];
    default:
      throw new OnnxTrainingError(`${where}: no shape rule for op ${n.opType} (ONNX training graphs support the ops fdft's exporter writes)`);
  }
}

/** Shapes of the NCHWc ops (src/export/nchwc.ts): a [N, C', H, W] value holds C' = C rounded up to the block. */
function nchwcShapes(g: OnnxGraph, n: OnnxNode, shape: (name: string) => Dims, where: string): Dims[] {
  const block = g.training?.nchwcBlock;
  if (n.domain !== NCHWC_DOMAIN || block === undefined) throw new OnnxTrainingError(`${where}: no shape rule for domain ${n.domain}`);
  const x = shape(n.inputs[0]!);
  const last = intAttr(n, 'channels_last', 0) === 1;
  switch (n.opType) {
    case 'ReorderInput':
      return [last ? [x[0]!, nchwcChannels(x[3]!, block), x[1]!, x[2]!] : [x[0]!, nchwcChannels(x[1]!, block), x[2]!, x[3]!]];
    case 'ReorderOutput': {
      const c = intAttr(n, 'channels', x[1]!);
      return [last ? [x[0]!, x[2]!, x[3]!, c] : [x[0]!, c, x[2]!, x[3]!]];
    }
    case 'Conv': {
      const w = shape(n.inputs[1]!);
      return [windowShape(n, x, w[0]!, w.slice(2))];
    }
    default:
      throw new OnnxTrainingError(`${where}: no shape rule for ${NCHWC_DOMAIN}:${n.opType}`);
  }
}

/** The shape of every value of `g` (inputs need fixed dims: build training graphs for one batch size). */
export function inferShapes(g: OnnxGraph): Map<string, Dims> {
  const shapes = new Map<string, Dims>();
  for (const io of g.inputs) {
    if (io.dims.some((d) => d == null)) throw new OnnxTrainingError(`input '${io.name}' has a dynamic dimension; training graphs have fixed shapes`);
    shapes.set(io.name, io.dims as number[]);
  }
  for (const [name, t] of g.initializers) shapes.set(name, t.dims.slice());
  const shape = (name: string): Dims => {
    const s = shapes.get(name);
    if (!s) throw new OnnxTrainingError(`value '${name}' has no known shape (used before it is computed?)`);
    return s;
  };
  for (const n of g.nodes) {
    const outs = nodeShapes(g, n, shape);
    n.outputs.forEach((o, i) => {
      if (o) shapes.set(o, outs[i] ?? outs[0]!);
    });
  }
  return shapes;
}
