/**
 * The gradient of a training-mode BatchNormalization (a BatchNormRegion, src/export/onnxGraph.ts)
 * in closed form. With x̂ = centred·invStd, y = γ·x̂ + β and N values per statistic:
 *
 *   dβ = Σ dy        dγ = Σ dy·x̂ = invStd·Σ dy·centred
 *   dx = γ·invStd·(dy − dβ/N) − centred·γ·invStd³·(Σ dy·centred)/N
 *
 * (sums over every axis but the channel). Every coefficient is per channel, so this is five
 * full-size element-wise passes and two reductions; differentiating the forward nodes one by one
 * (mean, centring, variance, scale) takes about twice as many, and BN is in every Xception block.
 *
 * In a padded batch (src/export/imageMask.ts) N counts the images that count, and dx is zero on the
 * padding's: its two coefficients are multiplied by the mask (per image and channel, still small).
 * The sums need no mask: dy is zero on the padding, whose loss is masked and whose gradient every
 * BN zeroes again (no other op mixes images).
 */
import { reducePerChannel } from '../../export/channelSums.ts';
import { imageMaskBroadcast } from '../../export/imageMask.ts';
import type { BatchNormRegion } from '../../export/onnxGraph.ts';
import type { GradientContext } from './autodiff.ts';

export interface BatchNormGradients {
  x?: string;
  gamma?: string;
  beta?: string;
}

export function batchNormGradient(ctx: GradientContext, r: BatchNormRegion, dy: string): BatchNormGradients {
  const b = `${r.y}/bn`;
  // As MatMuls with a ones row where the value is channel last and large (src/export/channelSums.ts).
  const dims = ctx.shape(r.y); // dy has y's shape
  const sumDy = reducePerChannel(ctx.g, dy, dims, r.axes, `grad/${b}/sum_dy`);
  const sumDyCentred = reducePerChannel(ctx.g, ctx.op('Mul', [dy, r.centred], `${b}/dy_centred`), dims, r.axes, `grad/${b}/sum_dy_centred`);
  const out: BatchNormGradients = {};
  if (r.beta && ctx.needs(r.beta)) out.beta = sumDy;
  if (r.gamma && ctx.needs(r.gamma)) out.gamma = ctx.op('Mul', [sumDyCentred, r.invStd], `${b}/dgamma`);
  if (ctx.needs(r.x)) {
    const inv = r.invCount;
    const a = r.gamma ? ctx.op('Mul', [r.invStd, r.gamma], `${b}/a`) : r.invStd; // γ·invStd
    const shift = ctx.op('Mul', [sumDy, inv], `${b}/mean_dy`);
    const invStd2 = ctx.op('Mul', [r.invStd, r.invStd], `${b}/inv_var`);
    const coef = ctx.op('Mul', [ctx.op('Mul', [a, invStd2], `${b}/a_inv_var`), ctx.op('Mul', [sumDyCentred, inv], `${b}/mean_dy_centred`)], `${b}/coef`);
    const mask = imageMaskBroadcast(ctx.g, dims.length);
    const maskedA = ctx.op('Mul', [a, mask], `${b}/a_masked`);
    const maskedCoef = ctx.op('Mul', [coef, mask], `${b}/coef_masked`);
    const scaled = ctx.op('Mul', [ctx.op('Sub', [dy, shift], `${b}/dy_centred_mean`), maskedA], `${b}/dy_scaled`);
    out.x = ctx.op('Sub', [scaled, ctx.op('Mul', [r.centred, maskedCoef], `${b}/centred_coef`)], `${b}/dx`);
  }
  return out;
}
