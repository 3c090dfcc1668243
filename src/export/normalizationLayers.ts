/**
 * BatchNormalization at inference: y = γ·(x − μ)/√(σ² + ε) + β with the moving statistics.
 * Channel-axis BN on rank 2 and rank 4 becomes ONNX BatchNormalization (the optimiser folds it
 * into the preceding Conv when that Conv feeds nothing else); other ranks become Mul + Add.
 *
 * In a training graph (OnnxGraph.training) a trainable BN layer normalises with the batch's mean
 * and biased variance over every axis but the channel, as tfjs' `normalizeBatchInTraining` does
 * (over the batch's images that count: a padded batch's padding is masked out, imageMask.ts),
 * written as element-wise ops so that the gradient graph differentiates it like any other; the
 * batch mean and variance are graph outputs, from which the trainer updates the moving statistics.
 */
import { scalar } from './activations.ts';
import { reducePerChannel } from './channelSums.ts';
import { inverseMaskedCount } from './imageMask.ts';
import { type ConvertArgs, type LayerConverter, oneInput } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr } from './onnxGraph.ts';
import type { Value } from './value.ts';
import { layerWeights, requireWeight, type Weight } from './weights.ts';

/**
 * Training-mode BN (see the header): y = (x − mean)·(invStd·γ) + β with invStd = (var + ε)^−½, the
 * statistics of this batch. Recorded as a BatchNormRegion: autodiff writes its gradient in closed
 * form (src/train/onnx/batchNormGradient.ts), which needs only `centred` and `invStd`.
 */
function batchStatisticsNormalization(a: ConvertArgs, x: Value, c: number, eps: number, w: Map<string, Weight>): Value {
  const { g, base } = a;
  const rank = x.shape.length;
  // Inside the graph rank-4 values are NCHW (channel axis 1) unless marked NHWC (Value.nhwc);
  // every axis but the channel's is reduced.
  const channelAxis = rank === 4 && !x.nhwc ? 1 : rank - 1;
  const axes = Array.from({ length: rank }, (_, i) => i).filter((i) => i !== channelAxis);
  const bcast = Array.from({ length: rank }, (_, i) => (i === channelAxis ? c : 1));
  const bcastDims = g.addInt64(`${base}/bcast`, bcast);
  const gamma =
    a.config.scale !== false
      ? g.op('Reshape', [g.addWeight(`${base}/gamma`, requireWeight(w, 'gamma', a.layer), [c]), bcastDims], `${base}/gamma_b`)
      : undefined;
  const beta =
    a.config.center !== false ? g.op('Reshape', [g.addWeight(`${base}/beta`, requireWeight(w, 'beta', a.layer), [c]), bcastDims], `${base}/beta_b`) : undefined;
  // x.shape is the tfjs shape (channel last); the statistics need its spatial dims static.
  const spatial = x.shape.slice(1, -1);
  if (spatial.some((d) => d == null)) throw new OnnxExportError(`BatchNormalization '${a.layer.name}' in training needs static spatial dims`);
  const batch = g.training!.batch;
  // The mean over the images that count (imageMask.ts) and every non-channel axis: masked sums
  // times 1 / (images × spatial values).
  const invCount = inverseMaskedCount(g, (spatial as number[]).reduce((n, d) => n * d, 1));
  // The value's dims in the graph, for the sums (MatMuls where it is channel last and large: src/export/channelSums.ts).
  const dims = channelAxis === rank - 1 ? [batch, ...(spatial as number[]), c] : [batch, c, ...(spatial as number[])];
  const first = g.nodes.length;
  const mean = g.op('Mul', [reducePerChannel(g, x.name, dims, axes, `${base}/batch_mean`, true), invCount], `${base}/batch_mean`);
  const centred = g.op('Sub', [x.name, mean], `${base}/centred`);
  const squares = reducePerChannel(g, g.op('Mul', [centred, centred], `${base}/squared`), dims, axes, `${base}/batch_var`, true);
  const variance = g.op('Mul', [squares, invCount], `${base}/batch_var`);
  const invStd = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [variance, scalar(g, `${base}/eps`, eps)], `${base}/var_eps`)], `${base}/std`)], `${base}/inv_std`);
  // One full-size pass for the scale: invStd·γ is per channel.
  const scale = gamma ? g.op('Mul', [invStd, gamma], `${base}/scale`) : invStd;
  let y = g.op('Mul', [centred, scale], `${base}/normalised`);
  if (beta) y = g.op('Add', [y, beta], `${base}/shifted`);
  g.training!.batchNormRegions.push({ x: x.name, centred, invStd, gamma, beta, y, axes, invCount, nodes: g.nodes.slice(first).map((n) => n.name) });
  const flat = g.addInt64(`${base}/c`, [c]);
  const meanOut = g.op('Reshape', [mean, flat], `${base}/mean_out`);
  const varOut = g.op('Reshape', [variance, flat], `${base}/var_out`);
  g.addOutput(meanOut, [c]);
  g.addOutput(varOut, [c]);
  g.training!.batchStatistics.push({ layer: a.layer, mean: meanOut, variance: varOut });
  return { name: y, shape: x.shape, ...(x.nhwc && { nhwc: true }) };
}

export const batchNormalization: LayerConverter = (a) => {
  const x = oneInput(a);
  const rank = x.shape.length;
  const axisCfg = a.config.axis ?? -1;
  const axis = Number(Array.isArray(axisCfg) ? (axisCfg.length === 1 ? axisCfg[0] : NaN) : axisCfg);
  if (!(axis === -1 || axis === rank - 1)) {
    throw new OnnxExportError(`BatchNormalization over axis ${JSON.stringify(axisCfg)} is not supported (only the last axis)`);
  }
  const c = x.shape[rank - 1];
  if (c == null) throw new OnnxExportError('BatchNormalization needs a known channel count');
  const w = layerWeights(a.layer);
  const mean = requireWeight(w, 'moving_mean', a.layer).data;
  const variance = requireWeight(w, 'moving_variance', a.layer).data;
  const gamma = a.config.scale === false ? new Float32Array(c).fill(1) : requireWeight(w, 'gamma', a.layer).data;
  const beta = a.config.center === false ? new Float32Array(c) : requireWeight(w, 'beta', a.layer).data;
  const eps = Number(a.config.epsilon ?? 1e-3);
  if (a.g.training && a.layer.trainable) return [batchStatisticsNormalization(a, x, c, eps, w)];
  if (rank === 4 || rank === 2) {
    const inputs = [
      x.name,
      a.g.addFloat(`${a.base}/gamma`, gamma, [c]),
      a.g.addFloat(`${a.base}/beta`, beta, [c]),
      a.g.addFloat(`${a.base}/mean`, mean, [c]),
      a.g.addFloat(`${a.base}/var`, variance, [c]),
    ];
    return [{ name: a.g.op('BatchNormalization', inputs, a.base, { epsilon: attr.float(eps) }), shape: x.shape }];
  }
  // Other ranks: the channel axis is last inside the graph too, so [c] vectors broadcast.
  const scale = new Float32Array(c);
  const shift = new Float32Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = gamma[i]! / Math.sqrt(variance[i]! + eps);
    shift[i] = beta[i]! - mean[i]! * scale[i]!;
  }
  const scaled = a.g.op('Mul', [x.name, a.g.addFloat(`${a.base}/scale`, scale, [c])], `${a.base}/scale`);
  return [{ name: a.g.op('Add', [scaled, a.g.addFloat(`${a.base}/shift`, shift, [c])], a.base), shape: x.shape }];
};
