/** tfjs activation functions (by their serialized name) as ONNX ops on a graph value. */
import { OnnxExportError } from './errors.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';
import { internalAxis, type Value } from './value.ts';

/** A float scalar initializer (Clip bounds, constants of decomposed activations). */
export function scalar(g: OnnxGraph, base: string, v: number): string {
  return g.addFloat(base, Float32Array.of(v), []);
}

/** min(max(x, lo), hi) — ReLU6 is clip(0, 6). */
export function clip(g: OnnxGraph, x: string, lo: number, hi: number, base: string): string {
  return g.op('Clip', [x, scalar(g, `${base}/min`, lo), scalar(g, `${base}/max`, hi)], base);
}

/**
 * Apply activation `name` to `x` (tfjs names: 'relu', 'relu6', 'softmax', …). Softmax-like ones work
 * on tfjs' last axis, which is the channel axis 1 inside the graph for rank-4 values.
 */
export function applyActivation(g: OnnxGraph, name: string | undefined | null, x: Value, base: string): Value {
  const rank = x.shape.length;
  const lastAxis = x.nhwc ? rank - 1 : internalAxis(-1, rank);
  const out = (n: string): Value => ({ name: n, shape: x.shape, ...(x.nhwc && { nhwc: true }) });
  switch (name ?? 'linear') {
    case 'linear':
      return x;
    case 'relu':
      return out(g.op('Relu', [x.name], base));
    case 'relu6':
      return out(clip(g, x.name, 0, 6, base));
    case 'sigmoid':
      return out(g.op('Sigmoid', [x.name], base));
    case 'tanh':
      return out(g.op('Tanh', [x.name], base));
    case 'softmax':
      return out(g.op('Softmax', [x.name], base, { axis: attr.int(lastAxis) }));
    case 'logSoftmax':
      return out(g.op('LogSoftmax', [x.name], base, { axis: attr.int(lastAxis) }));
    case 'elu':
      return out(g.op('Elu', [x.name], base, { alpha: attr.float(1) }));
    case 'selu':
      // ONNX's default alpha / gamma are tfjs' SELU constants.
      return out(g.op('Selu', [x.name], base));
    case 'softplus':
      return out(g.op('Softplus', [x.name], base));
    case 'softsign':
      return out(g.op('Softsign', [x.name], base));
    case 'hardSigmoid':
      // tfjs/Keras' hard sigmoid: clip(0.2·x + 0.5, 0, 1).
      return out(g.op('HardSigmoid', [x.name], base, { alpha: attr.float(0.2), beta: attr.float(0.5) }));
    case 'swish':
      return out(g.op('Mul', [x.name, g.op('Sigmoid', [x.name], `${base}/sigmoid`)], base));
    case 'mish':
      return out(g.op('Mul', [x.name, g.op('Tanh', [g.op('Softplus', [x.name], `${base}/softplus`)], `${base}/tanh`)], base));
    case 'gelu': {
      // 0.5·x·(1 + erf(x/√2)), as tfjs' 'gelu'.
      const e = g.op('Erf', [g.op('Mul', [x.name, scalar(g, `${base}/rsqrt2`, Math.SQRT1_2)], `${base}/scaled`)], `${base}/erf`);
      const onePlus = g.op('Add', [e, scalar(g, `${base}/one`, 1)], `${base}/one_plus`);
      return out(g.op('Mul', [g.op('Mul', [x.name, scalar(g, `${base}/half`, 0.5)], `${base}/half_x`), onePlus], base));
    }
    case 'gelu_new': {
      // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), as tfjs' 'gelu_new'.
      const x3 = g.op('Mul', [g.op('Mul', [x.name, x.name], `${base}/x2`), x.name], `${base}/x3`);
      const inner = g.op('Add', [x.name, g.op('Mul', [x3, scalar(g, `${base}/c`, 0.044715)], `${base}/cx3`)], `${base}/inner`);
      const t = g.op('Tanh', [g.op('Mul', [inner, scalar(g, `${base}/k`, Math.sqrt(2 / Math.PI))], `${base}/scaled`)], `${base}/tanh`);
      const onePlus = g.op('Add', [t, scalar(g, `${base}/one`, 1)], `${base}/one_plus`);
      return out(g.op('Mul', [g.op('Mul', [x.name, scalar(g, `${base}/half`, 0.5)], `${base}/half_x`), onePlus], base));
    }
    default:
      throw new OnnxExportError(`activation '${name}' is not supported by the ONNX exporter`);
  }
}
