/**
 * Depthwise and full (group 1) convolutions on onnxruntime's NCHWc kernels, for TRAINING graphs.
 *
 * Why: in a training graph the kernels are graph inputs, and onnxruntime's plain Conv then runs a
 * depthwise conv as one im2col + tiny GEMM per image and channel — the largest cost of an Xception
 * pretraining step (38 % of it, BENCHMARKS.md). Its inference graphs never see that: its optimiser
 * rewrites convs with constant kernels into the `com.microsoft.nchwc` domain (activations in
 * channel blocks of 8 or 16, MLAS' vectorised depthwise kernel). Those ops are registered kernels,
 * so a graph may use them directly when it lays the kernel out the same way itself:
 *
 *   x (NCHW or NHWC) → nchwc:ReorderInput → nchwc:Conv(group = C', W') → nchwc:ReorderOutput → y (NCHW or NHWC)
 *
 * with C' = C rounded up to the block and W' the kernel in MLAS' "OIHWBo" order,
 * [C'/block, kh, kw, block], built from the tfjs kernel by Reshape / Pad / Transpose nodes (so the
 * gradient returned for the tfjs variable is in the tfjs layout). A full conv (`nchwcConv`) is
 * written the same way with its kernel in MLAS' "OIHWBiBo" order. The gradients of these three ops
 * (src/train/onnx/nchwcRules.ts) are written with the same kernels. Whether the running
 * onnxruntime has them, and its block size, is probed once (src/train/onnx/nchwcBlock.ts).
 */
import type { Weight } from './weights.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';

export const NCHWC_DOMAIN = 'com.microsoft.nchwc';

/** Channels rounded up to the NCHWc block (ReorderInput pads them with zeros). */
export const nchwcChannels = (channels: number, block: number): number => Math.ceil(channels / block) * block;

export interface NchwcDepthwiseSpec {
  /** Input, NCHW [B, C, H, W], or NHWC [B, H, W, C] with `inputNhwc` (ReorderInput reads either). */
  x: string;
  inputNhwc?: boolean;
  channels: number;
  /** The tfjs depthwise kernel [kh, kw, C, 1]. */
  kernel: Weight;
  /** ONNX pads [top, left, bottom, right]; dilation is 1. */
  pads: number[];
  /** Default [1, 1]. A strided one is differentiated only between NHWC values (input and output). */
  strides?: [number, number];
  /** Layout of the output: NHWC saves the transpose in front of a pointwise MatMul. */
  output: 'nchw' | 'nhwc';
  base: string;
}

/**
 * Whether `nchwcDepthwise` can write this conv: channel multiplier 1, dilation 1, C a multiple of 4
 * (ReorderInput's requirement), and stride 1 — or any stride when the input is NHWC (its gradients
 * are written for those: src/train/onnx/nchwcRules.ts; the callers write the output NHWC).
 */
export function nchwcDepthwiseApplies(g: OnnxGraph, kernelShape: readonly number[], strides: number[], dilations: number[], inputNhwc = false): boolean {
  return (
    g.training?.nchwcBlock !== undefined &&
    kernelShape[3] === 1 &&
    kernelShape[2]! % 4 === 0 &&
    (inputNhwc || strides.every((s) => s === 1)) &&
    dilations.every((d) => d === 1)
  );
}

/** The tfjs kernel [kh, kw, C, 1] as an NCHWc depthwise weight [C', 1, kh, kw] in OIHWBo order. */
function nchwcKernel(g: OnnxGraph, k: Weight, block: number, base: string): string {
  const [kh, kw, c] = k.shape as [number, number, number];
  const padded = nchwcChannels(c, block);
  let w = g.addWeight(`${base}/W`, k, [kh * kw, c]);
  if (padded > c) w = g.op('Pad', [w, g.addInt64(`${base}/W_pads`, [0, 0, 0, padded - c])], `${base}/W_padded`);
  w = g.op('Reshape', [w, g.addInt64(`${base}/W_blocks`, [kh * kw, padded / block, block])], `${base}/W_blocks`);
  w = g.op('Transpose', [w], `${base}/W_oihwbo`, { perm: attr.ints([1, 0, 2]) });
  return g.op('Reshape', [w, g.addInt64(`${base}/W_dims`, [padded, 1, kh, kw])], `${base}/W_nchwc`);
}

/** A depthwise conv (no bias: the caller adds it) on the NCHWc kernels; see the file comment. */
export function nchwcDepthwise(g: OnnxGraph, s: NchwcDepthwiseSpec): string {
  const block = g.training?.nchwcBlock;
  if (block === undefined) throw new Error('internal: nchwcDepthwise needs TrainingBindings.nchwcBlock');
  const [kh, kw] = s.kernel.shape as [number, number];
  const blocked = g.domainOp(NCHWC_DOMAIN, 'ReorderInput', [s.x], `${s.base}/nchwc_in`, { channels_last: attr.int(s.inputNhwc ? 1 : 0) });
  const y = g.domainOp(NCHWC_DOMAIN, 'Conv', [blocked, nchwcKernel(g, s.kernel, block, s.base)], `${s.base}/nchwc_conv`, {
    kernel_shape: attr.ints([kh, kw]),
    pads: attr.ints(s.pads),
    strides: attr.ints(s.strides ?? [1, 1]),
    group: attr.int(nchwcChannels(s.channels, block)),
  });
  return g.domainOp(NCHWC_DOMAIN, 'ReorderOutput', [y], s.base, {
    channels: attr.int(s.channels),
    channels_last: attr.int(s.output === 'nhwc' ? 1 : 0),
  });
}

/**
 * Whether `nchwcConv` can write this full (group 1) conv: a kernel larger than 1x1 (1x1 convs are
 * MatMuls in training graphs), stride and dilation 1, pads smaller than the kernel, and input and
 * output channels multiples of the block (so no channel padding). Xception's block1_conv2 is one:
 * with its kernel a graph input, onnxruntime's plain Conv ran it no faster on 2 threads than on 1;
 * on NCHWc its forward, input and kernel gradients take ~29 instead of ~44 ms per batch-32
 * pretraining step (BENCHMARKS.md, fourteenth session).
 */
export function nchwcConvApplies(g: OnnxGraph, kernelShape: readonly number[], strides: number[], dilations: number[], pads: number[]): boolean {
  const block = g.training?.nchwcBlock;
  const [kh, kw, cin, cout] = kernelShape as [number, number, number, number];
  return (
    block !== undefined &&
    kh * kw > 1 &&
    cin % block === 0 &&
    cout % block === 0 &&
    strides.every((s) => s === 1) &&
    dilations.every((d) => d === 1) &&
    pads.every((p, i) => p < (i % 2 === 0 ? kh : kw))
  );
}

/**
 * The tfjs conv kernel [kh, kw, C, M] in MLAS' NCHWc filter order "OIHWBiBo",
 * [M/block, C/block, kh, kw, block (C), block (M)], given ONNX dims [M, C, kh, kw]: one Reshape and one
 * Transpose, so that the gradient fed back to the tfjs variable is in its own layout.
 */
function nchwcFullKernel(g: OnnxGraph, k: Weight, block: number, base: string): string {
  const [kh, kw, c, m] = k.shape as [number, number, number, number];
  const w = g.addWeight(`${base}/W`, k, [kh, kw, c / block, block, m / block, block]);
  const t = g.op('Transpose', [w], `${base}/W_oihwbibo`, { perm: attr.ints([4, 2, 0, 1, 3, 5]) });
  return g.op('Reshape', [t, g.addInt64(`${base}/W_dims`, [m, c, kh, kw])], `${base}/W_nchwc`);
}

export interface NchwcConvSpec {
  /** Input, NCHW [B, C, H, W], or NHWC [B, H, W, C] with `inputNhwc`. */
  x: string;
  inputNhwc?: boolean;
  /** The tfjs kernel [kh, kw, C, M]. */
  kernel: Weight;
  /** ONNX pads [top, left, bottom, right]. */
  pads: number[];
  base: string;
}

/** A full conv (no bias: the caller adds it) on the NCHWc kernels, writing NHWC; see nchwcConvApplies. */
export function nchwcConv(g: OnnxGraph, s: NchwcConvSpec): string {
  const block = g.training?.nchwcBlock;
  if (block === undefined) throw new Error('internal: nchwcConv needs TrainingBindings.nchwcBlock');
  const [kh, kw, , m] = s.kernel.shape as [number, number, number, number];
  const blocked = g.domainOp(NCHWC_DOMAIN, 'ReorderInput', [s.x], `${s.base}/nchwc_in`, { channels_last: attr.int(s.inputNhwc ? 1 : 0) });
  const y = g.domainOp(NCHWC_DOMAIN, 'Conv', [blocked, nchwcFullKernel(g, s.kernel, block, s.base)], `${s.base}/nchwc_conv`, {
    kernel_shape: attr.ints([kh, kw]),
    pads: attr.ints(s.pads),
  });
  return g.domainOp(NCHWC_DOMAIN, 'ReorderOutput', [y], s.base, { channels: attr.int(m!), channels_last: attr.int(1) });
}
