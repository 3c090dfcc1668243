/**
 * fdft's wasm conv gradient kernels (Conv2DBackpropFilter, Conv2DBackpropInput,
 * DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput) against tfjs' cpu
 * backend: odd and even sizes, filters 1/2/3/5, strides 1 and 2, 'same', 'valid' and explicit pads.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { depthwiseDirectApplies, geometryOf } from '../../../src/engine/kernels/depthwiseDirect.ts';
import { simdFor } from '../../../src/engine/kernels/simd/index.ts';
import { type BackendWasm, flipFilterSwapChannels, heapF32, release } from '../../../src/engine/kernels/wasmTensors.ts';
import { randomValues, TOLERANCE, useWasmEngine, wasmVsCpu } from '../backendPair.ts';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  b: number;
  h: number;
  w: number;
  c: number;
  k: number;
  s: number;
  pad: Pad;
  out: number; // output channels (conv) or channel multiplier (depthwise)
}

/** A fixed, varied set of shapes: every filter size × stride × padding, sizes and channels rotating. */
function cases(): Case[] {
  const all: Case[] = [];
  const sizes = [
    [7, 7],
    [8, 5],
    [9, 10],
    [5, 6],
  ];
  let n = 0;
  for (const k of [1, 2, 3, 5]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid', 'explicit'] as const) {
        const [h, w] = sizes[n % sizes.length]!;
        const p: Pad = pad === 'explicit' ? [[0, 0], [1, 0], [0, 2], [0, 0]] : pad;
        all.push({ b: 1 + (n % 2), h: h!, w: w!, c: [3, 5, 4][n % 3]!, k, s, pad: p, out: [4, 1, 2][n % 3]! });
        n++;
      }
    }
  }
  return all;
}

const label = (c: Case): string =>
  `${c.b}x${c.h}x${c.w}x${c.c} k${c.k} s${c.s} ${typeof c.pad === 'string' ? c.pad : 'explicit'} out${c.out}`;

function outSize(c: Case, depthwise: boolean): number[] {
  const info = tf.backend_util.computeConv2DInfo(
    [c.b, c.h, c.w, c.c],
    [c.k, c.k, c.c, c.out],
    c.s,
    1,
    c.pad,
    undefined,
    depthwise,
  );
  return info.outShape;
}

before(async () => {
  await useWasmEngine();
});

describe('conv2d gradients on wasm match cpu', () => {
  for (const c of cases()) {
    test(label(c), () => {
      const dyShape = outSize(c, false);
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
      const filterErr = wasmVsCpu(() => {
        const x = tf.tensor4d(randomValues(c.b * c.h * c.w * c.c, 1), [c.b, c.h, c.w, c.c]);
        const dy = tf.tensor(randomValues(dyShape.reduce((a, b) => a * b), 2), dyShape);
        return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [c.k, c.k, c.c, c.out] }) as tf.Tensor;
      });
      assert.ok(filterErr <= TOLERANCE, `Conv2DBackpropFilter relative error ${filterErr}`);
      const inputErr = wasmVsCpu(() => {
        const filter = tf.tensor4d(randomValues(c.k * c.k * c.c * c.out, 3), [c.k, c.k, c.c, c.out]);
        const dy = tf.tensor(randomValues(dyShape.reduce((a, b) => a * b), 2), dyShape);
        return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, { ...attrs, inputShape: [c.b, c.h, c.w, c.c] }) as tf.Tensor;
      });
      assert.ok(inputErr <= TOLERANCE, `Conv2DBackpropInput relative error ${inputErr}`);
    });
  }
});

/** Both depthwise gradient kernels of case `c` on wasm against cpu, within TOLERANCE. */
function checkDepthwiseGradients(c: Case): void {
  const dyShape = outSize(c, true);
  const attrs = { strides: c.s, pad: c.pad, dilations: 1 };
  const dy = () => tf.tensor(randomValues(dyShape.reduce((a, b) => a * b), 5), dyShape);
  const filterErr = wasmVsCpu(() => {
    const x = tf.tensor4d(randomValues(c.b * c.h * c.w * c.c, 4), [c.b, c.h, c.w, c.c]);
    return tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy: dy() }, { ...attrs, filterShape: [c.k, c.k, c.c, c.out] }) as tf.Tensor;
  });
  assert.ok(filterErr <= TOLERANCE, `DepthwiseConv2dNativeBackpropFilter relative error ${filterErr}`);
  const inputErr = wasmVsCpu(() => {
    const filter = tf.tensor4d(randomValues(c.k * c.k * c.c * c.out, 6), [c.k, c.k, c.c, c.out]);
    return tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: dy(), filter }, { ...attrs, inputShape: [c.b, c.h, c.w, c.c] }) as tf.Tensor;
  });
  assert.ok(inputErr <= TOLERANCE, `DepthwiseConv2dNativeBackpropInput relative error ${inputErr}`);
}

describe('depthwise conv gradients on wasm match cpu', () => {
  for (const c of cases()) test(label(c), () => checkDepthwiseGradients(c));
});

describe('depthwise conv gradients: the direct loops (many channels over few pixels) match cpu', () => {
  // Every case takes depthwiseDirect.ts (C·M ≥ 64, ≤ 4 output pixels): MBblockV3's 5x5 on a 1x1
  // map and its strided 3x3, odd sizes, explicit and negative-remainder pads, multiplier 2.
  const direct: Case[] = [
    { b: 3, h: 1, w: 1, c: 96, k: 5, s: 1, pad: 'same', out: 1 },
    { b: 2, h: 2, w: 2, c: 72, k: 3, s: 2, pad: 'same', out: 1 },
    { b: 2, h: 5, w: 3, c: 64, k: 3, s: 1, pad: 'valid', out: 1 },
    { b: 1, h: 3, w: 4, c: 40, k: 3, s: 2, pad: [[0, 0], [1, 0], [0, 2], [0, 0]], out: 2 },
    { b: 2, h: 4, w: 5, c: 65, k: 2, s: 2, pad: 'valid', out: 1 },
  ];
  for (const c of direct) {
    test(label(c), () => {
      const info = tf.backend_util.computeConv2DInfo([c.b, c.h, c.w, c.c], [c.k, c.k, c.c, c.out], c.s, 1, c.pad, undefined, true);
      assert.ok(depthwiseDirectApplies(geometryOf(info, c.out)), 'the case takes the direct loops');
      checkDepthwiseGradients(c);
    });
  }
  test('the rule: few channels or much work keep the stock composition', () => {
    const g = (b: number, hw: number, c: number, k: number, s: number, m = 1) =>
      geometryOf(tf.backend_util.computeConv2DInfo([b, hw, hw, c], [k, k, c, m], s, 1, 'same', undefined, true), m);
    assert.equal(depthwiseDirectApplies(g(16, 1, 576, 5, 1)), true); // MB blocks 2–4
    assert.equal(depthwiseDirectApplies(g(16, 2, 576, 3, 2)), true); // MB block 1
    assert.equal(depthwiseDirectApplies(g(16, 64, 3, 3, 2)), false); // FTT stage 1: 3 channels
    assert.equal(depthwiseDirectApplies(g(16, 32, 32, 3, 2)), false); // FTT stage 2: 32 channels
    assert.equal(depthwiseDirectApplies(g(16, 16, 64, 3, 2)), false); // FTT stage 3: 8x8 outputs
    assert.equal(depthwiseDirectApplies(g(128, 1, 576, 5, 1)), true); // any batch
    assert.equal(depthwiseDirectApplies(g(16, 1, 32, 5, 1, 2)), true); // C·M = 64
  });
});

test('tf.grads through conv2d, depthwise and separable convs agree with cpu', () => {
  const err = wasmVsCpu(() => {
    const x = tf.tensor4d(randomValues(2 * 11 * 9 * 3, 7), [2, 11, 9, 3]);
    const w = tf.tensor4d(randomValues(3 * 3 * 3 * 6, 8), [3, 3, 3, 6]);
    const dw = tf.tensor4d(randomValues(5 * 5 * 6 * 2, 9), [5, 5, 6, 2]);
    const pw = tf.tensor4d(randomValues(12 * 4, 10), [1, 1, 12, 4]);
    return tf.grads((...t: tf.Tensor[]) => {
      const [a, b, c, d] = t as tf.Tensor4D[];
      const h = tf.relu(tf.conv2d(a!, b!, 2, 'same'));
      return tf.separableConv2d(h, c!, d!, 1, 'valid').square().sum();
    })([x, w, dw, pw]);
  });
  assert.ok(err <= TOLERANCE, `relative error ${err}`);
});

test('flipFilterSwapChannels (SIMD per tap, and its JavaScript fallback) equals the scalar definition exactly', () => {
  const previous = tf.getBackend();
  tf.setBackend('wasm');
  try {
    const backend = tf.backend() as unknown as BackendWasm;
    assert.ok(simdFor(backend), 'this Node has wasm SIMD');
    for (const [fh, fw, ci, co] of [
      [3, 3, 5, 7],
      [1, 1, 2048, 576],
      [2, 3, 4, 9],
      [3, 1, 37, 45],
      [5, 5, 1, 3],
      [1, 1, 1, 1],
    ] as const) {
      const values = randomValues(fh * fw * ci * co, fh * 1000 + ci);
      const filter = tf.tensor4d(values, [fh, fw, ci, co]);
      // The definition: out[i, j, o, c] = filter[fh − 1 − i, fw − 1 − j, c, o].
      const want = new Float32Array(values.length);
      for (let i = 0; i < fh; i++) for (let j = 0; j < fw; j++) for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) {
        want[((i * fw + j) * co + o) * ci + c] = values[(((fh - 1 - i) * fw + (fw - 1 - j)) * ci + c) * co + o]!;
      }
      for (const path of ['simd', 'js'] as const) {
        const out = flipFilterSwapChannels(backend, filter, path === 'simd' ? simdFor(backend) : null);
        assert.deepEqual(out.shape, [fh, fw, co, ci]);
        const got = heapF32(backend, out).slice();
        release(backend, out);
        const bad = got.findIndex((v, k) => !Object.is(v, want[k]));
        assert.equal(bad, -1, `${path} ${fh}x${fw}x${ci}x${co}: first difference at element ${bad}`);
      }
      filter.dispose();
    }
  } finally {
    tf.setBackend(previous);
  }
});
