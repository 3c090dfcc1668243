/**
 * Single gradient rules (src/train/onnx/gradientRules.ts) on hand-built ONNX graphs, where a
 * model-level test cannot reach every case: loss = Σ weights ⊙ op(x), so d loss / d x is known in
 * closed form and compared exactly (the rules only move values).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { attr, OnnxGraph } from '../../../src/export/onnxGraph.ts';
import { encodeOnnxGraph } from '../../../src/export/onnx.ts';
import { onnxAvailable, OnnxRunner } from '../../../src/engine/onnxBackbone.ts';
import { addGradients } from '../../../src/train/onnx/autodiff.ts';
import { TRAINING_OPSET } from '../../../src/train/onnx/trainingGraph.ts';

let ort = false;

before(async () => {
  ort = await onnxAvailable();
});

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const ramp = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => ((i * 37) % 101) * scale - 0.5);

/** Build x → op → Σ weights ⊙ y, differentiate with respect to x, run; returns x, weights and dx. */
async function gradientOf(dims: number[], yDims: number[], op: (g: OnnxGraph, x: string) => string, x = ramp(size(dims), 0.01)) {
  const g = new OnnxGraph();
  const input = g.addInput('x', dims);
  const y = op(g, input);
  const weights = ramp(size(yDims), 0.013);
  const weighted = g.op('Mul', [y, g.addFloat('weights', weights, yDims)], 'weighted');
  const loss = g.op('ReduceSum', [weighted], 'loss', { keepdims: attr.int(0) });
  g.addOutput(loss, []);
  const [dx] = addGradients(g, loss, [input]);
  g.addOutput(dx!, dims);
  const runner = await OnnxRunner.create(encodeOnnxGraph(g, { graphName: 'rule', opset: TRAINING_OPSET }), { threads: 1 });
  try {
    const out = await runner.runFeeds({ [input]: { data: x, dims } });
    return { x, weights, dx: out[dx!]!.data, nodes: g.nodes.map((n) => n.opType) };
  } finally {
    await runner.dispose();
  }
}

function slice(g: OnnxGraph, x: string, starts: number[], ends: number[], axes: number[], steps: number[]): string {
  return g.op('Slice', [x, g.addInt64('starts', starts), g.addInt64('ends', ends), g.addInt64('axes', axes), g.addInt64('steps', steps)], 'slice');
}

test('Slice with steps > 1 (strided 1x1 convs): dY lands where it was read, zeros elsewhere, for any start, end and step', async (t) => {
  if (!ort) return t.skip('onnxruntime-node does not load here');
  const dims = [2, 9, 8, 3];
  const cases: Array<{ starts: number[]; ends: number[]; axes: number[]; steps: number[] }> = [
    { starts: [0, 0], ends: [9, 8], axes: [1, 2], steps: [2, 2] }, // the 1x1 stride-2 conv on an odd map
    { starts: [1, 2], ends: [9, 8], axes: [1, 2], steps: [2, 3] }, // offsets below the step
    { starts: [4, -5], ends: [8, 100], axes: [1, 2], steps: [3, 2] }, // offsets past a step, a negative start, an end past the size
    { starts: [1, 0], ends: [2, 3], axes: [0, 3], steps: [1, 2] }, // a unit-step axis beside a strided one
  ];
  for (const c of cases) {
    // Which x positions each axis reads, in order (ONNX Slice semantics for positive steps).
    const read = dims.map((n, a) => {
      const i = c.axes.indexOf(a);
      if (i < 0) return Array.from({ length: n }, (_, k) => k);
      const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
      const out: number[] = [];
      for (let k = clamp(c.starts[i]!); k < clamp(c.ends[i]!); k += c.steps[i]!) out.push(k);
      return out;
    });
    const yDims = read.map((r) => r.length);
    const { weights, dx } = await gradientOf(dims, yDims, (g, x) => slice(g, x, c.starts, c.ends, c.axes, c.steps));
    const expected = new Float32Array(size(dims));
    const strides = dims.map((_, a) => size(dims.slice(a + 1)));
    let j = 0;
    for (const i0 of read[0]!) for (const i1 of read[1]!) for (const i2 of read[2]!) for (const i3 of read[3]!) {
      expected[i0 * strides[0]! + i1 * strides[1]! + i2 * strides[2]! + i3] = weights[j++]!;
    }
    assert.deepEqual(Array.from(dx), Array.from(expected), `Slice ${JSON.stringify(c)}`);
  }
});

test('Slice with a negative step is a named error (only positive steps are differentiated)', async () => {
  await assert.rejects(
    gradientOf([4, 5], [4, 5], (g, x) => slice(g, x, [-1], [-100], [1], [-1])),
    /only positive steps are differentiated/,
  );
});

test('ReLU and Clip gradients pass dY where the mask holds (dY · float(mask), no Where)', async (t) => {
  if (!ort) return t.skip('onnxruntime-node does not load here');
  const dims = [3, 4, 5];
  const relu = await gradientOf(dims, dims, (g, x) => g.op('Relu', [x], 'relu'));
  assert.ok(!relu.nodes.includes('Where'));
  // (dY · 0 is −0 where dY < 0: the same zero for every consumer; + 0 compares it as 0.)
  relu.dx.forEach((d, i) => assert.equal(d + 0, relu.x[i]! > 0 ? relu.weights[i]! : 0, `ReLU at ${i}`));
  const lo = -0.2;
  const hi = 0.3;
  const clip = await gradientOf(dims, dims, (g, x) => g.op('Clip', [x, g.addFloat('lo', Float32Array.of(lo), []), g.addFloat('hi', Float32Array.of(hi), [])], 'clip'));
  clip.dx.forEach((d, i) => assert.equal(d + 0, clip.x[i]! >= Math.fround(lo) && clip.x[i]! <= Math.fround(hi) ? clip.weights[i]! : 0, `Clip at ${i}`));
});
