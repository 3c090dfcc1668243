/**
 * BatchNormalization at inference: y = γ·(x − μ)/√(σ² + ε) + β with the moving statistics.
 * Channel-axis BN on rank 2 and rank 4 becomes ONNX BatchNormalization (the optimiser folds it
 * into the preceding Conv when that Conv feeds nothing else); other ranks become Mul + Add.
 */
import { type LayerConverter, oneInput } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr } from './onnxGraph.ts';
import { layerWeights, requireWeight } from './weights.ts';

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
