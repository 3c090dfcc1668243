/**
 * exportOnnx: onnxruntime agrees with tfjs within 1e-4 on small models covering every supported
 * layer kind (odd sizes, strides 1/2/3, 'same' with even kernels, 'valid'), and the errors.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { onnxAvailable, onnxUnavailableReason } from '../../src/engine/onnxBackbone.ts';
import { OnnxExportError, buildOnnxGraph, exportOnnx } from '../../src/export/onnx.ts';
import { decodeModelProto } from '../../src/export/onnxSchema.ts';
import { HardSigmoid, HardSwish, SelfAttention, FrozenBackbone, depthwiseConv2d } from '../../layers/index.ts';
import { SelectInput } from '../../layers/selectInput.ts';
import { assertOnnxMatchesTfjs, call, randomizeWeights, type Sym } from './helpers.ts';

let ortOk = false;
let ortWhy = '';
before(async () => {
  await initEngine('wasm', () => {});
  ortOk = await onnxAvailable();
  ortWhy = (await onnxUnavailableReason()) ?? '';
});

/** Runs `fn` only where onnxruntime-node loads; otherwise skips with the reason. */
function ortTest(name: string, fn: () => Promise<void>) {
  test(name, async (t) => {
    if (!ortOk) return t.skip(`onnxruntime-node unavailable: ${ortWhy}`);
    await fn();
  });
}

const conv = (o: Parameters<typeof tf.layers.conv2d>[0]) => tf.layers.conv2d(o);

describe('exportOnnx agrees with tfjs', () => {
  ortTest('Conv2D: kernels 1-5, strides 1/2/3, same (even kernels: asymmetric pads) / valid, dilation, bias or not', async () => {
    const x = tf.input({ shape: [9, 11, 3] });
    const outs = [
      call(conv({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), x),
      call(conv({ filters: 5, kernelSize: 4, strides: 2, padding: 'same' }), x),
      call(conv({ filters: 3, kernelSize: [2, 3], strides: [2, 1], padding: 'same', useBias: false }), x),
      call(conv({ filters: 4, kernelSize: 3, strides: 2, padding: 'valid', useBias: false }), x),
      call(conv({ filters: 2, kernelSize: 2, dilationRate: 2, padding: 'same' }), x),
      call(conv({ filters: 3, kernelSize: 5, strides: 3, padding: 'same', activation: 'tanh' }), x),
      call(conv({ filters: 6, kernelSize: 1, padding: 'valid' }), x),
    ];
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest('DepthwiseConv2D (stock and fdft) and SeparableConv2D: multipliers, strides, bias, activation', async () => {
    const x = tf.input({ shape: [9, 7, 4] });
    const outs = [
      call(tf.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' }), x),
      call(depthwiseConv2d({ kernelSize: 5, padding: 'same', useBias: false }), x),
      call(tf.layers.depthwiseConv2d({ kernelSize: 2, strides: 2, padding: 'valid' }), x),
      call(tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false }), x),
      call(tf.layers.separableConv2d({ filters: 5, kernelSize: 3, strides: 2, padding: 'valid', depthMultiplier: 2, activation: 'sigmoid' }), x),
      call(tf.layers.separableConv2d({ filters: 3, kernelSize: 4, strides: 2, padding: 'same' }), x),
    ];
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest('BatchNormalization: folded after Conv / DepthwiseConv / SeparableConv, kept after ReLU, on rank 2 and rank 3', async () => {
    const x = tf.input({ shape: [8, 9, 3] });
    const bn = (o: Parameters<typeof tf.layers.batchNormalization>[0] = {}) => tf.layers.batchNormalization(o);
    const a = call(bn(), call(conv({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false }), x));
    const b = call(bn({ epsilon: 1.001e-5 }), call(conv({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), x));
    const c = call(bn({ center: false }), call(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same' }), x));
    const d = call(bn({ scale: false }), call(tf.layers.separableConv2d({ filters: 5, kernelSize: 3, padding: 'same' }), x));
    const flat = call(tf.layers.dense({ units: 6 }), call(tf.layers.flatten(), a));
    const e = call(bn(), flat);
    const f = call(bn(), call(tf.layers.reshape({ targetShape: [8 * 9, 3] }), x));
    const m = tf.model({ inputs: x, outputs: [a, b, c, d, e, f] });
    randomizeWeights(m);
    const g = buildOnnxGraph(m);
    assert.equal(g.optimized?.foldedBatchNorms, 3, 'the BNs after conv / depthwise / separable are folded');
    assert.equal(g.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length, 2, 'after ReLU and on rank 2: kept');
    await assertOnnxMatchesTfjs(m);
    await assertOnnxMatchesTfjs(m, { optimize: false });
  });

  ortTest('1x1 convs with output rows of 1–3 pixels (and kernels of ≥ 2^17 weights) are MatMuls; BNs after them fold in', async () => {
    const bn = (o: Parameters<typeof tf.layers.batchNormalization>[0] = {}) => tf.layers.batchNormalization(o);
    const small = tf.input({ shape: [3, 2, 512] });
    const wide = tf.input({ shape: [5, 5, 512] });
    const outs = [
      call(bn(), call(conv({ filters: 256, kernelSize: 1 }), small)), // bias Add: BN folds into it
      call(bn({ center: false }), call(conv({ filters: 256, kernelSize: 1, useBias: false }), small)), // no bias: the fold adds one
      call(bn({ scale: false }), call(conv({ filters: 256, kernelSize: 1, strides: 2, useBias: false }), wide)), // 5x5 → 3x3: strided Slice
      call(bn(), call(tf.layers.separableConv2d({ filters: 256, kernelSize: 3, padding: 'same', useBias: false }), small)), // pointwise half
      call(bn(), call(conv({ filters: 256, kernelSize: 1, activation: 'relu' }), small)), // BN after ReLU: kept
      call(conv({ filters: 256, kernelSize: 1, padding: 'same' }), call(tf.layers.zeroPadding2d({ padding: [[0, 0], [1, 1]] }), small)), // rows of 4: Conv
      call(conv({ filters: 64, kernelSize: 1 }), small), // 512·64 weights: Conv
    ];
    const m = tf.model({ inputs: [small, wide], outputs: outs });
    randomizeWeights(m);
    const g = buildOnnxGraph(m);
    const count = (op: string) => g.graph.nodes.filter((n) => n.opType === op).length;
    assert.equal(count('MatMul'), 5, 'the five 1x1 convs with 1–3-pixel rows and ≥ 2^17 weights');
    assert.equal(g.optimized?.foldedBatchNorms, 4, 'the BNs right after them are folded');
    assert.equal(count('BatchNormalization'), 1, 'the one after a ReLU stays');
    assert.equal(count('Conv'), 3, "the separable conv's depthwise half, the 4-pixel rows and the small kernel");
    await assertOnnxMatchesTfjs(m);
    await assertOnnxMatchesTfjs(m, { optimize: false });
  });

  ortTest('pooling, global pooling, ZeroPadding2D (+ Conv, + MaxPool: exact despite onnxruntime pad fusion), Cropping2D', async () => {
    const x = tf.input({ shape: [9, 11, 3] });
    const h = call(conv({ filters: 4, kernelSize: 3, padding: 'same' }), x); // negative values too
    const outs = [
      call(tf.layers.maxPooling2d({ poolSize: 2 }), h),
      call(tf.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), h),
      call(tf.layers.maxPooling2d({ poolSize: 2, strides: 1, padding: 'same' }), h),
      call(tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }), h),
      call(tf.layers.averagePooling2d({ poolSize: [2, 3], strides: [2, 3], padding: 'valid' }), h),
      call(tf.layers.globalAveragePooling2d({}), h),
      call(tf.layers.globalMaxPooling2d({}), h),
      call(conv({ filters: 3, kernelSize: 3, strides: 2 }), call(tf.layers.zeroPadding2d({ padding: [[1, 2], [0, 3]] }), h)),
      call(tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }), call(tf.layers.zeroPadding2d({ padding: [[1, 1], [1, 1]] }), h)),
      call(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }), call(tf.layers.zeroPadding2d({ padding: [[0, 1], [2, 0]] }), h)),
      call(tf.layers.averagePooling2d({ poolSize: 3, strides: 2 }), call(tf.layers.zeroPadding2d({ padding: 1 }), h)),
      call(tf.layers.cropping2D({ cropping: [[1, 2], [3, 0]] }), h),
    ];
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest('Dense, Flatten, Reshape, Permute, Dropout and every activation (as Activation layers and fused)', async () => {
    const x = tf.input({ shape: [5, 7, 3] });
    const h = call(conv({ filters: 4, kernelSize: 3, padding: 'same' }), x);
    const acts = ['relu', 'relu6', 'linear', 'sigmoid', 'tanh', 'softmax', 'logSoftmax', 'elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'mish', 'gelu', 'gelu_new'] as const;
    // 'logSoftmax' works in tfjs but is missing from its ActivationIdentifier type.
    const outs: Sym[] = acts.map((a) => call(tf.layers.activation({ activation: a as 'relu' }), h));
    const flat = call(tf.layers.flatten(), call(tf.layers.dropout({ rate: 0.5 }), h));
    outs.push(call(tf.layers.dense({ units: 3, activation: 'softmax' }), flat));
    outs.push(call(tf.layers.dense({ units: 4, useBias: false, activation: 'elu' }), flat));
    outs.push(call(tf.layers.dense({ units: 5, activation: 'relu' }), h)); // Dense on a rank-4 tensor: last axis
    const seq = call(tf.layers.reshape({ targetShape: [35, 4] }), h);
    outs.push(call(tf.layers.dense({ units: 2 }), seq)); // rank 3
    outs.push(call(tf.layers.reshape({ targetShape: [7, 5, -1] }), seq));
    outs.push(call(tf.layers.permute({ dims: [2, 1, 3] }), h));
    outs.push(call(tf.layers.reLU({ maxValue: 6 }), h));
    outs.push(call(tf.layers.reLU({}), h));
    outs.push(call(tf.layers.leakyReLU({ alpha: 0.2 }), h));
    outs.push(call(tf.layers.elu({}), h));
    outs.push(call(tf.layers.thresholdedReLU({ theta: 0.3 }), h));
    outs.push(call(tf.layers.softmax({ axis: -1 }), h));
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest('merge layers: Add (2 and 3 inputs), Multiply (with [B,1,1,C] broadcast), Average, Maximum, Minimum, Concatenate', async () => {
    const x = tf.input({ shape: [6, 5, 3] });
    const a = call(conv({ filters: 4, kernelSize: 3, padding: 'same' }), x);
    const b = call(conv({ filters: 4, kernelSize: 1 }), x);
    const c = call(conv({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }), x);
    const gate = call(tf.layers.reshape({ targetShape: [1, 1, 4] }), call(tf.layers.globalAveragePooling2d({}), c));
    const outs = [
      call(tf.layers.add(), [a, b]),
      call(tf.layers.add(), [a, b, c]),
      call(tf.layers.multiply(), [a, b, c]),
      call(tf.layers.multiply(), [a, gate]),
      call(tf.layers.average(), [a, b, c]),
      call(tf.layers.maximum(), [a, b]),
      call(tf.layers.minimum(), [a, b, c]),
      call(tf.layers.concatenate(), [a, x, c]),
      call(tf.layers.concatenate({ axis: 1 }), [a, b]),
      call(tf.layers.concatenate({ axis: 2 }), [a, c]),
      call(tf.layers.concatenate(), [call(tf.layers.flatten(), a), call(tf.layers.globalMaxPooling2d({}), b)]),
    ];
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest("fdft layers: HardSigmoid, HardSwish, SelfAttention (γ ≠ 0, odd 7x5 map), SelectInput", async () => {
    const x = tf.input({ shape: [7, 5, 3] });
    const h = call(conv({ filters: 16, kernelSize: 3, padding: 'same' }), x);
    const outs = [
      call(new HardSigmoid({}), h),
      call(new HardSwish({}), h),
      call(new SelfAttention({ reduction: 8 }), h),
      call(new SelfAttention({ reduction: 4 }), call(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }), h)),
      call(new SelectInput({ index: 1 }), [x, h]),
    ];
    const m = tf.model({ inputs: x, outputs: outs });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m);
  });

  ortTest('nested models are inlined: a functional model called twice, FrozenBackbone, a Sequential model; multi-input', async () => {
    const innerIn = tf.input({ shape: [8, 8, 4] });
    const inner = tf.model({
      inputs: innerIn,
      outputs: call(tf.layers.batchNormalization({}), call(conv({ filters: 4, kernelSize: 3, padding: 'same' }), innerIn)),
      name: 'inner',
    });
    const bbIn = tf.input({ shape: [8, 8, 3] });
    const bb = tf.model({ inputs: bbIn, outputs: call(conv({ filters: 4, kernelSize: 3, padding: 'same', name: 'features' }), bbIn), name: 'bb' });
    const img = tf.input({ shape: [8, 8, 3] });
    const side = tf.input({ shape: [8, 8, 4] });
    const fm = call(new FrozenBackbone({ backbone: bb, name: 'backbone' }), img);
    const y1 = call(inner, fm);
    const y2 = call(inner, side);
    const out = call(tf.layers.dense({ units: 2, activation: 'softmax' }), call(tf.layers.globalAveragePooling2d({}), call(tf.layers.add(), [y1, y2])));
    const m = tf.model({ inputs: [img, side], outputs: [out, y1] });
    randomizeWeights(m);
    await assertOnnxMatchesTfjs(m, { minMagnitude: 0.01 });

    const seq = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 4 }),
      ],
    });
    randomizeWeights(seq);
    await assertOnnxMatchesTfjs(seq);
  });

  ortTest("outputLayer cuts the model, also at a layer inside a nested model (FDFtNet's frozen backbone)", async () => {
    const bbIn = tf.input({ shape: [9, 9, 3] });
    const f = call(tf.layers.reLU({ name: 'features' }), call(conv({ filters: 5, kernelSize: 3, strides: 2, padding: 'same' }), bbIn));
    const bb = tf.model({ inputs: bbIn, outputs: f });
    const img = tf.input({ shape: [9, 9, 3] });
    const top = call(tf.layers.dense({ units: 2, name: 'top' }), call(tf.layers.flatten({ name: 'flat' }), call(new FrozenBackbone({ backbone: bb }), img)));
    const m = tf.model({ inputs: img, outputs: top });
    randomizeWeights(m);
    const bytes = await assertOnnxMatchesTfjs(m, { outputLayer: 'features' });
    const proto = decodeModelProto(bytes);
    const dims = (io: any) => io.type.tensor_type.shape.dim.map((d: any) => d.dim_value ?? d.dim_param);
    assert.deepEqual(dims(proto.graph.output[0]), ['batch', 5, 5, 5]);
    await assertOnnxMatchesTfjs(m, { outputLayer: 'flat' });
    assert.throws(() => exportOnnx(m, { outputLayer: 'nope' }), (e: Error) => e instanceof OnnxExportError && /no layer named 'nope'/.test(e.message));
  });
});

describe('exportOnnx output and errors', () => {
  test('writes an opset-13 ModelProto whose input is the NHWC tfjs input with a dynamic batch', () => {
    const x = tf.input({ shape: [9, 11, 3], name: 'image' });
    const m = tf.model({ inputs: x, outputs: call(conv({ filters: 2, kernelSize: 3, padding: 'same' }), x) });
    const p = decodeModelProto(exportOnnx(m));
    assert.equal(p.ir_version, 7);
    assert.deepEqual(p.opset_import, [{ domain: '', version: 13 }]);
    assert.equal(p.producer_name, 'fdft');
    const input = p.graph.input[0];
    assert.equal(input.name, 'image');
    assert.equal(input.type.tensor_type.elem_type, 1);
    assert.deepEqual(input.type.tensor_type.shape.dim, [{ dim_param: 'batch' }, { dim_value: 9 }, { dim_value: 11 }, { dim_value: 3 }]);
    assert.deepEqual(p.graph.node.map((n: any) => n.op_type), ['Transpose', 'Conv', 'Transpose']);
    const convNode = p.graph.node[1];
    const pads = convNode.attribute.find((a: any) => a.name === 'pads');
    assert.deepEqual(pads.ints, [1, 1, 1, 1]);
  });

  test("'same' padding puts the odd pixel at the end, as TensorFlow: pads [top, left, bottom, right]", () => {
    const x = tf.input({ shape: [8, 9, 1] });
    const m = tf.model({ inputs: x, outputs: call(conv({ filters: 1, kernelSize: 4, strides: 2, padding: 'same' }), x) });
    const p = decodeModelProto(exportOnnx(m));
    const pads = p.graph.node.find((n: any) => n.op_type === 'Conv').attribute.find((a: any) => a.name === 'pads');
    // H: out 4, total (4-1)*2+4-8 = 2 → [1, 1]; W: out 5, total (5-1)*2+4-9 = 3 → [1, 2].
    assert.deepEqual(pads.ints, [1, 1, 1, 2]);
  });

  test('an unsupported layer raises OnnxExportError naming the layer and its class', () => {
    const x = tf.input({ shape: [4, 4, 2] });
    const m = tf.model({ inputs: x, outputs: call(tf.layers.upSampling2d({ name: 'up' }), x) });
    assert.throws(
      () => exportOnnx(m),
      (e: Error) => e instanceof OnnxExportError && e.name === 'OnnxExportError' && /'up'/.test(e.message) && /UpSampling2D/.test(e.message),
    );
  });

  test('channels-first layers and unknown spatial sizes with same padding are refused with OnnxExportError', () => {
    const x = tf.input({ shape: [3, 6, 6] });
    const cf = tf.model({ inputs: x, outputs: call(conv({ filters: 2, kernelSize: 3, dataFormat: 'channelsFirst', name: 'cf' }), x) });
    assert.throws(() => exportOnnx(cf), (e: Error) => e instanceof OnnxExportError && /'cf'/.test(e.message) && /channelsFirst/.test(e.message));
    const y = tf.input({ shape: [null, null, 3] });
    const dyn = tf.model({ inputs: y, outputs: call(conv({ filters: 2, kernelSize: 3, padding: 'same', name: 'dyn' }), y) });
    assert.throws(() => exportOnnx(dyn), (e: Error) => e instanceof OnnxExportError && /'dyn'/.test(e.message) && /fixed input size/.test(e.message));
  });
});
