/**
 * Conv2D, DepthwiseConv2D, SeparableConv2D → ONNX Conv (NCHW); in training graphs 1x1 convs (strided
 * ones too) become MatMuls of the NHWC pixels (pointwiseMatMul), and depthwise convs and stride-1
 * full convs of whole channel blocks use onnxruntime's NCHWc kernels where it has them (nchwc.ts),
 * all writing NHWC (Value.nhwc). In
 * inference graphs, 1x1 convs whose output rows are 1–3 pixels long are MatMuls too (asMatMul).
 *
 * Kernel layouts: tfjs Conv2D [kh, kw, in, out] → ONNX [out, in, kh, kw]; tfjs depthwise
 * [kh, kw, in, mult] → ONNX grouped Conv (group = in) with W [in·mult, 1, kh, kw], output channel
 * c·mult + m as in TF. SeparableConv2D = depthwise (its strides, padding, dilation) then a 1×1
 * pointwise Conv with the bias, then the activation.
 */
import { applyActivation } from './activations.ts';
import { nchwcConv, nchwcConvApplies, nchwcDepthwise, nchwcDepthwiseApplies } from './nchwc.ts';
import { type ConvertArgs, type LayerConverter, oneInput, requireChannelsLast, requireRank } from './converter.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';
import { onnxPads2d, pair } from './padding.ts';
import { fromTfjsLayout, staticDim, type Value } from './value.ts';
import { layerWeights, requireWeight, type Weight } from './weights.ts';

interface WindowGeometry {
  kernel: [number, number];
  strides: [number, number];
  dilations: [number, number];
  pads: number[];
}

function geometry(a: ConvertArgs, x: Value): WindowGeometry {
  const kernel = pair(a.config.kernelSize, 'kernelSize');
  const strides = pair(a.config.strides ?? 1, 'strides');
  const dilations = pair(a.config.dilationRate ?? 1, 'dilationRate');
  const padding = String(a.config.padding ?? 'valid');
  const hw: [number, number] =
    padding === 'same' ? [staticDim(x.shape, 1, `'same' padding`), staticDim(x.shape, 2, `'same' padding`)] : [0, 0];
  return { kernel, strides, dilations, pads: onnxPads2d(padding, hw, kernel, strides, dilations) };
}

/** A Conv node; `kernel` is the ONNX name of a [out, in/group, kh, kw] weight. */
function convNode(a: ConvertArgs, x: string, kernel: string, kernelHw: [number, number], bias: Weight | undefined, geo: WindowGeometry, group: number, base: string): string {
  const inputs = [x, kernel];
  if (bias) inputs.push(a.g.addWeight(`${base}/B`, bias, bias.shape));
  return a.g.op('Conv', inputs, base, {
    kernel_shape: attr.ints(kernelHw),
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    pads: attr.ints(geo.pads),
    group: attr.int(group),
  });
}

/** tfjs depthwise kernel [kh, kw, in, mult] → ONNX [in·mult, 1, kh, kw]. */
function depthwiseKernel(a: ConvertArgs, k: Weight, base: string): string {
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  // [in, mult, kh, kw] = [in·mult, 1, kh, kw] row-major.
  return a.g.addWeight(`${base}/W`, k, [cin * mult, 1, kh, kw], [2, 3, 0, 1]);
}

/** tfjs conv kernel [kh, kw, in, out] → ONNX [out, in, kh, kw]. */
function convKernel(a: ConvertArgs, k: Weight, base: string): string {
  const [kh, kw, cin, cout] = k.shape as [number, number, number, number];
  return a.g.addWeight(`${base}/W`, k, [cout, cin, kh, kw], [3, 2, 0, 1]);
}

const hw = (k: Weight): [number, number] => [k.shape[0]!, k.shape[1]!];

/** Whether a depthwise conv is written on onnxruntime's NCHWc kernels (training graphs where they exist; nchwc.ts). */
const asNchwc = (a: ConvertArgs, k: Weight, geo: WindowGeometry, x: Value) => nchwcDepthwiseApplies(a.g, k.shape, geo.strides, geo.dilations, x.nhwc);

/**
 * A 1x1 convolution as a MatMul of the NHWC pixels [B, H, W, in] by the kernel in its tfjs
 * layout [in, out] (a strided one reads a strided Slice of the pixels first: `subsampledPixels`);
 * where it is used: asMatMul. In training graphs, where weights are inputs, onnxruntime's Conv
 * runs one GEMM per image (N = H·W pixels: 4 on Xception's last maps) and cannot pre-pack the
 * kernel; one MatMul over the whole batch is several times faster, and its gradient needs no
 * kernel transposes.
 */
function pointwiseMatMul(a: ConvertArgs, pixels: string, k: Weight, bias: Weight | undefined, base: string): string {
  const [, , cin, cout] = k.shape as [number, number, number, number];
  const y = a.g.op('MatMul', [pixels, a.g.addWeight(`${base}/W`, k, [cin, cout])], `${base}/matmul`);
  // NHWC in, NHWC out: callers mark the value so (Value.nhwc).
  return bias ? a.g.op('Add', [y, a.g.addWeight(`${base}/B`, bias, bias.shape)], `${base}/bias`) : y;
}

/**
 * Output rows shorter than this many pixels make a 1x1 conv a MatMul in inference graphs too.
 * onnxruntime's NCHWc conv kernels work one output row at a time, and rows of 1–3 pixels leave
 * them at 20–107 GFLOP/s where one MatMul over every pixel of the batch runs at 90–150 (batch 32,
 * 2 threads; Xception's 2x2 maps at 64x64, [1536 → 2048]: 10.9 → 5.4 ms). From 4-pixel rows the
 * two are equal, and from 8 the conv is faster (BENCHMARKS.md, ninth session).
 */
const SHORT_ROW_PIXELS = 4;
/**
 * ...and only kernels of at least this many weights (in·out): below it the transposes to and from
 * the MatMul's NHWC cost more than the GEMM saves (SqueezeNet's fire modules, [384 → 48] and
 * [48 → 192] at 3x3: its backbone went 10.7 → 12.5 ms).
 */
const MIN_MATMUL_WEIGHTS = 1 << 17;

/**
 * Whether a conv is written as `pointwiseMatMul`: every 1x1 conv of a training graph, and in
 * inference graphs (where onnxruntime pre-packs Conv kernels) those with short output rows.
 * Strided 1x1 convs (Xception's residual branches) included: in a training graph, as a Conv
 * with its kernel an input, the kernel's 4-d transposes and the ConvTranspose of its input
 * gradient cost ~40 ms per batch-32 step on block13's [728 → 1024] alone, 20x its GEMMs. In
 * inference, a BatchNormalization after the MatMul folds into it (optimize.ts).
 */
function asMatMul(a: ConvertArgs, k: Weight, geo: WindowGeometry): boolean {
  const pointwise = k.shape[0] === 1 && k.shape[1] === 1 && geo.dilations.every((d) => d === 1) && geo.pads.every((p) => p === 0);
  if (!pointwise) return false;
  if (a.g.training !== undefined) return true;
  const width = a.outputShapes[0]?.[2];
  return typeof width === 'number' && width < SHORT_ROW_PIXELS && k.shape[2]! * k.shape[3]! >= MIN_MATMUL_WEIGHTS;
}

/**
 * Whether a Conv2D layer of a training graph reads NHWC as it lies (onnx.ts asks before converting):
 * as `pointwiseMatMul` (1x1 kernels) or on the NCHWc kernels (`nchwcConvApplies`; 'same' and
 * 'valid' pads are always smaller than the kernel).
 */
export function conv2dTakesNhwc(g: OnnxGraph, config: Record<string, unknown>, kernelShape: readonly number[]): boolean {
  const kernel = pair(config.kernelSize, 'kernelSize');
  const strides = pair(config.strides ?? 1, 'strides');
  const dilations = pair(config.dilationRate ?? 1, 'dilationRate');
  // A 1x1 kernel needs no padding, 'same' or 'valid'.
  if (kernel.every((k) => k === 1) && dilations.every((d) => d === 1)) return true;
  return nchwcConvApplies(g, kernelShape, strides, dilations, [0, 0, 0, 0]);
}

/**
 * The NHWC pixels a 1x1 conv of `strides` reads: every strides-th row and column from the first
 * (tfjs' 'same' and 'valid' agree for 1x1 kernels). An NCHW input is transposed first: the
 * gradient of a strided Slice spreads dY with a Pad whose innermost run is the channels in NHWC
 * but a single value in NCHW (15 vs ~2 ms on Xception's block2 at batch 32).
 */
function subsampledPixels(a: ConvertArgs, x: Value, strides: [number, number]): string {
  const pixels = x.nhwc ? x.name : a.g.op('Transpose', [x.name], `${a.base}/nhwc`, { perm: attr.ints([0, 2, 3, 1]) });
  if (strides.every((s) => s === 1)) return pixels;
  const ends = [staticDim(x.shape, 1, 'a strided 1x1 conv'), staticDim(x.shape, 2, 'a strided 1x1 conv')];
  const slice = [[0, 0], ends, [1, 2], strides].map((values, i) => a.g.addInt64(`${a.base}/subsample_${['starts', 'ends', 'axes', 'steps'][i]}`, values));
  return a.g.op('Slice', [pixels, ...slice], `${a.base}/subsample`);
}

function output(a: ConvertArgs, name: string, nhwc = false): Value[] {
  const y: Value = nhwc ? { name, shape: a.outputShapes[0]!, nhwc } : { name, shape: a.outputShapes[0]! };
  return [applyActivation(a.g, a.config.activation as string, y, `${a.base}/act`)];
}

/** An NHWC-marked input (Value.nhwc) transposed to NCHW, for the paths below that need it. */
function nchwInput(a: ConvertArgs, x: Value): string {
  return x.nhwc ? fromTfjsLayout(a.g, x.name, x.shape, a.base).name : x.name;
}

export const conv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const k = requireWeight(w, 'kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  const geo = geometry(a, x);
  // NHWC out (Value.nhwc): BN, ReLU and Add take it as is; any other consumer gets one transpose.
  if (asMatMul(a, k, geo)) return output(a, pointwiseMatMul(a, subsampledPixels(a, x, geo.strides), k, bias, a.base), true);
  if (nchwcConvApplies(a.g, k.shape, geo.strides, geo.dilations, geo.pads)) {
    // Training graphs: NCHW or NHWC in, NHWC out, on the NCHWc kernels (nchwc.ts).
    const y = nchwcConv(a.g, { x: x.name, inputNhwc: x.nhwc, kernel: k, pads: geo.pads, base: a.base });
    return output(a, bias ? a.g.op('Add', [y, a.g.addWeight(`${a.base}/B`, bias, bias.shape)], `${a.base}/bias`) : y, true);
  }
  return output(a, convNode(a, nchwInput(a, x), convKernel(a, k, a.base), hw(k), bias, geo, 1, a.base));
};

export const depthwiseConv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const k = requireWeight(w, 'depthwise_kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  const geo = geometry(a, x);
  if (asNchwc(a, k, geo, x)) {
    // NCHW or NHWC in, NHWC out (Value.nhwc), as a separable conv's depthwise half.
    const y = nchwcDepthwise(a.g, { x: x.name, inputNhwc: x.nhwc, channels: k.shape[2]!, kernel: k, pads: geo.pads, strides: geo.strides, output: 'nhwc', base: `${a.base}/depthwise` });
    return output(a, bias ? a.g.op('Add', [y, a.g.addWeight(`${a.base}/B`, bias, bias.shape)], `${a.base}/bias`) : y, true);
  }
  return output(a, convNode(a, nchwInput(a, x), depthwiseKernel(a, k, a.base), hw(k), bias, geo, k.shape[2]!, a.base));
};

export const separableConv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const dk = requireWeight(w, 'depthwise_kernel', a.layer);
  const pk = requireWeight(w, 'pointwise_kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  const depthwiseBase = `${a.base}/depthwise`;
  const geo = geometry(a, x);
  const pwGeo: WindowGeometry = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  if (asNchwc(a, dk, geo, x) && asMatMul(a, pk, pwGeo)) {
    // NCHW or NHWC in (ReorderInput reads either); the NCHWc depthwise writes NHWC, the pointwise
    // MatMul's layout, and the output stays NHWC for the BN / ReLU / Add that follow (Value.nhwc).
    const dw = nchwcDepthwise(a.g, { x: x.name, inputNhwc: x.nhwc, channels: dk.shape[2]!, kernel: dk, pads: geo.pads, strides: geo.strides, output: 'nhwc', base: depthwiseBase });
    return output(a, pointwiseMatMul(a, dw, pk, bias, a.base), true);
  }
  const dw = convNode(a, nchwInput(a, x), depthwiseKernel(a, dk, depthwiseBase), hw(dk), undefined, geo, dk.shape[2]!, depthwiseBase);
  if (asMatMul(a, pk, pwGeo)) {
    // The depthwise conv's NCHW output transposed once; the pointwise MatMul's NHWC output stays so.
    const pixels = a.g.op('Transpose', [dw], `${a.base}/nhwc`, { perm: attr.ints([0, 2, 3, 1]) });
    return output(a, pointwiseMatMul(a, pixels, pk, bias, a.base), true);
  }
  return output(a, convNode(a, dw, convKernel(a, pk, a.base), [1, 1], bias, pwGeo, 1, a.base));
};
