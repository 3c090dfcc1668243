/**
 * Conv2D, DepthwiseConv2D, SeparableConv2D → ONNX Conv (NCHW).
 *
 * Kernel layouts: tfjs Conv2D [kh, kw, in, out] → ONNX [out, in, kh, kw]; tfjs depthwise
 * [kh, kw, in, mult] → ONNX grouped Conv (group = in) with W [in·mult, 1, kh, kw], output channel
 * c·mult + m as in TF. SeparableConv2D = depthwise (its strides, padding, dilation) then a 1×1
 * pointwise Conv with the bias, then the activation.
 */
import { applyActivation } from './activations.ts';
import { type ConvertArgs, type LayerConverter, oneInput, requireChannelsLast, requireRank } from './converter.ts';
import { attr } from './onnxGraph.ts';
import { onnxPads2d, pair } from './padding.ts';
import { staticDim, type Value } from './value.ts';
import { layerWeights, permute, requireWeight, type Weight } from './weights.ts';

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

function convNode(a: ConvertArgs, x: string, w: Weight, bias: Weight | undefined, geo: WindowGeometry, group: number, base: string): string {
  const inputs = [x, a.g.addFloat(`${base}/W`, w.data, w.shape)];
  if (bias) inputs.push(a.g.addFloat(`${base}/B`, bias.data, bias.shape));
  return a.g.op('Conv', inputs, base, {
    kernel_shape: attr.ints([w.shape[2]!, w.shape[3]!]),
    strides: attr.ints(geo.strides),
    dilations: attr.ints(geo.dilations),
    pads: attr.ints(geo.pads),
    group: attr.int(group),
  });
}

/** tfjs depthwise kernel [kh, kw, in, mult] → ONNX [in·mult, 1, kh, kw]. */
function depthwiseToOnnx(k: Weight): Weight {
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  const t = permute(k.data, k.shape, [2, 3, 0, 1]); // [in, mult, kh, kw] = [in·mult, 1, kh, kw] row-major
  return { data: t.data, shape: [cin * mult, 1, kh, kw] };
}

function output(a: ConvertArgs, name: string): Value[] {
  return [applyActivation(a.g, a.config.activation as string, { name, shape: a.outputShapes[0]! }, `${a.base}/act`)];
}

export const conv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const k = requireWeight(w, 'kernel', a.layer);
  const kernel = permute(k.data, k.shape, [3, 2, 0, 1]);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  return output(a, convNode(a, x.name, kernel, bias, geometry(a, x), 1, a.base));
};

export const depthwiseConv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const k = requireWeight(w, 'depthwise_kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  return output(a, convNode(a, x.name, depthwiseToOnnx(k), bias, geometry(a, x), k.shape[2]!, a.base));
};

export const separableConv2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const w = layerWeights(a.layer);
  const dk = requireWeight(w, 'depthwise_kernel', a.layer);
  const pk = requireWeight(w, 'pointwise_kernel', a.layer);
  const bias = a.config.useBias ? requireWeight(w, 'bias', a.layer) : undefined;
  const dw = convNode(a, x.name, depthwiseToOnnx(dk), undefined, geometry(a, x), dk.shape[2]!, `${a.base}/depthwise`);
  const pointwise = permute(pk.data, pk.shape, [3, 2, 0, 1]);
  const pwGeo: WindowGeometry = { kernel: [1, 1], strides: [1, 1], dilations: [1, 1], pads: [0, 0, 0, 0] };
  return output(a, convNode(a, dw, pointwise, bias, pwGeo, 1, a.base));
};
