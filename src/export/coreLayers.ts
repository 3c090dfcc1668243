/**
 * Core layers: Dense, Flatten, Reshape, Permute, the activation layers, and the layers that are the
 * identity at inference (Dropout and the noise layers).
 */
import { applyActivation, clip } from './activations.ts';
import { type LayerConverter, oneInput } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr } from './onnxGraph.ts';
import { fromTfjsLayout, internalAxis, toTfjsLayout } from './value.ts';
import { layerWeights, requireWeight } from './weights.ts';

/** Inference-time identity (Dropout, SpatialDropout, GaussianNoise, GaussianDropout, AlphaDropout). */
export const identity: LayerConverter = (a) => {
  // In training these layers draw noise (Dropout has its own converter and calls this only at rate 0).
  if (a.g.training && Number(a.config.rate ?? a.config.stddev ?? 0) > 0) {
    throw new OnnxExportError(`${a.layer.getClassName()} in training mode is not supported by ONNX training graphs (only Dropout)`);
  }
  return [{ ...oneInput(a), shape: a.outputShapes[0]! }];
};

/**
 * Dropout: the identity at inference; in a training graph (rate > 0) a multiplication by a mask
 * input of 0 and 1/(1 − rate), which the trainer draws per step (as tf.dropout's inverted dropout).
 */
export const dropout: LayerConverter = (a) => {
  const x = oneInput(a);
  const rate = Number(a.config.rate ?? 0);
  if (!a.g.training || rate <= 0) return identity(a);
  if (a.config.noiseShape != null) throw new OnnxExportError('Dropout with a noiseShape is not supported by ONNX training graphs');
  const dims = x.shape.map((d, i) => (i === 0 ? 0 : d));
  if (dims.slice(1).some((d) => d == null)) throw new OnnxExportError('Dropout in a training graph needs a fixed input shape');
  // Inside the graph rank-4 values are NCHW.
  const internal = dims.length === 4 ? [dims[0]!, dims[3]!, dims[1]!, dims[2]!] : (dims as number[]);
  const input = a.g.addInput(`${a.base}/mask`, [null, ...internal.slice(1)]);
  a.g.training.dropoutMasks.push({ input, rate, dims: internal });
  return [{ name: a.g.op('Mul', [x.name, input], a.base), shape: a.outputShapes[0]! }];
};

export const dense: LayerConverter = (a) => {
  const x = oneInput(a);
  const w = layerWeights(a.layer);
  const k = requireWeight(w, 'kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  const kernel = a.g.addWeight(`${a.base}/W`, k, k.shape);
  const shape = a.outputShapes[0]!;
  let y: string;
  if (x.shape.length === 2) {
    const inputs = [x.name, kernel];
    if (bias) inputs.push(a.g.addWeight(`${a.base}/B`, bias, bias.shape));
    y = a.g.op('Gemm', inputs, a.base);
  } else {
    // tfjs Dense acts on the last (channel) axis of higher-rank inputs.
    const mm = a.g.op('MatMul', [toTfjsLayout(a.g, x, a.base), kernel], `${a.base}/matmul`);
    const withBias = bias ? a.g.op('Add', [mm, a.g.addWeight(`${a.base}/B`, bias, bias.shape)], `${a.base}/bias`) : mm;
    y = fromTfjsLayout(a.g, withBias, shape, a.base).name;
  }
  return [applyActivation(a.g, a.config.activation as string, { name: y, shape }, `${a.base}/act`)];
};

export const flatten: LayerConverter = (a) => {
  const x = oneInput(a);
  const shape = a.outputShapes[0]!;
  if (x.shape.length === 2) return [{ ...x, shape }];
  // tfjs flattens in NHWC order.
  return [{ name: a.g.op('Flatten', [toTfjsLayout(a.g, x, a.base)], a.base, { axis: attr.int(1) }), shape }];
};

export const reshape: LayerConverter = (a) => {
  const x = oneInput(a);
  // tfjs stores the inferred dimension (-1) of targetShape as null.
  const target = (a.config.targetShape as Array<number | null>).map((d) => (d == null ? -1 : d));
  // 0 copies the (dynamic) batch dimension; tfjs' targetShape excludes it and may hold one -1.
  const shapeInit = a.g.addInt64(`${a.base}/shape`, [0, ...target]);
  const y = a.g.op('Reshape', [toTfjsLayout(a.g, x, a.base), shapeInit], `${a.base}/reshape`);
  return [fromTfjsLayout(a.g, y, a.outputShapes[0]!, a.base)];
};

export const permuteLayer: LayerConverter = (a) => {
  const x = oneInput(a);
  const dims = a.config.dims as number[];
  const y = a.g.op('Transpose', [toTfjsLayout(a.g, x, a.base)], `${a.base}/permute`, { perm: attr.ints([0, ...dims]) });
  return [fromTfjsLayout(a.g, y, a.outputShapes[0]!, a.base)];
};

export const activation: LayerConverter = (a) => [applyActivation(a.g, a.config.activation as string, oneInput(a), a.base)];

export const relu: LayerConverter = (a) => {
  const x = oneInput(a);
  const max = a.config.maxValue as number | null | undefined;
  const layout = x.nhwc ? { nhwc: true } : {};
  if (max == null) return [{ name: a.g.op('Relu', [x.name], a.base), shape: x.shape, ...layout }];
  return [{ name: clip(a.g, x.name, 0, max, a.base), shape: x.shape, ...layout }];
};

export const leakyRelu: LayerConverter = (a) => {
  const x = oneInput(a);
  return [{ name: a.g.op('LeakyRelu', [x.name], a.base, { alpha: attr.float(Number(a.config.alpha ?? 0.3)) }), shape: x.shape }];
};

export const elu: LayerConverter = (a) => {
  const x = oneInput(a);
  return [{ name: a.g.op('Elu', [x.name], a.base, { alpha: attr.float(Number(a.config.alpha ?? 1)) }), shape: x.shape }];
};

export const thresholdedRelu: LayerConverter = (a) => {
  const x = oneInput(a);
  return [{ name: a.g.op('ThresholdedRelu', [x.name], a.base, { alpha: attr.float(Number(a.config.theta ?? 1)) }), shape: x.shape }];
};

export const softmax: LayerConverter = (a) => {
  const x = oneInput(a);
  const axisCfg = a.config.axis ?? -1;
  const axis = Array.isArray(axisCfg) ? axisCfg : [axisCfg];
  if (axis.length !== 1) throw new OnnxExportError(`Softmax over several axes (${JSON.stringify(axisCfg)}) is not supported`);
  const ax = internalAxis(Number(axis[0]), x.shape.length);
  return [{ name: a.g.op('Softmax', [x.name], a.base, { axis: attr.int(ax) }), shape: x.shape }];
};
