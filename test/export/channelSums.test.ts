import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reducePerChannel, sumsAsMatMul } from '../../src/export/channelSums.ts';
import { IMAGE_MASK } from '../../src/export/imageMask.ts';
import { newTrainingBindings, OnnxGraph } from '../../src/export/onnxGraph.ts';
import { encodeModelProto } from '../../src/export/onnxSchema.ts';
import { onnxUnavailableReason, OnnxRunner } from '../../src/engine/onnxBackbone.ts';

test('sumsAsMatMul: channel-last sums over every other axis, from 2048 values per channel', () => {
  assert.equal(sumsAsMatMul([8, 16, 16, 4], [0, 1, 2]), true);
  assert.equal(sumsAsMatMul([7, 16, 16, 4], [0, 1, 2]), false, '1792 values per channel');
  assert.equal(sumsAsMatMul([8, 4, 16, 16], [0, 2, 3]), false, 'channel axis 1 (NCHW)');
  assert.equal(sumsAsMatMul([4096, 3], [0]), true);
  assert.equal(sumsAsMatMul([4096, 3, 5], [0]), false, 'not every axis but the last');
});

test('reducePerChannel: sums in keepdims form — MatMuls with one shared ones row where large and channel last, reductions elsewhere; masked: the images that count only', async (t) => {
  const unavailable = await onnxUnavailableReason();
  if (unavailable) return t.skip(`onnxruntime-node does not load here: ${unavailable}`);
  // Masked sums belong to training graphs (batch 4 here; image 1 is padding).
  const g = new OnnxGraph();
  g.training = newTrainingBindings(4);
  const imageMask = [1, 0, 1, 1];
  const cases = [
    { name: 'nhwc', dims: [4, 16, 32, 4], axes: [0, 1, 2], masked: false, matmul: true },
    { name: 'rows', dims: [2048, 4], axes: [0], masked: false, matmul: true },
    { name: 'small', dims: [3, 5, 7, 4], axes: [0, 1, 2], masked: false, matmul: false },
    { name: 'nchw', dims: [4, 4, 16, 32], axes: [0, 2, 3], masked: false, matmul: false },
    { name: 'nhwc_masked', dims: [4, 16, 32, 4], axes: [0, 1, 2], masked: true, matmul: true },
    { name: 'nchw_masked', dims: [4, 4, 16, 32], axes: [0, 2, 3], masked: true, matmul: false },
  ];
  const outs = cases.map((c) => {
    const x = g.addInput(c.name, c.dims);
    const y = reducePerChannel(g, x, c.dims, c.axes, c.name, c.masked);
    g.addOutput(y, c.dims.map((d, i) => (c.axes.includes(i) ? 1 : d)));
    return y;
  });
  assert.equal([...g.initializers.keys()].filter((k) => k.startsWith('channel_sums/ones_')).length, 1, 'one ones row for the two unmasked cases of 2048 rows');
  cases.forEach((c) => assert.equal(g.nodes.some((n) => n.opType === 'MatMul' && n.name.startsWith(`${c.name}/`)), c.matmul, c.name));
  const bytes = encodeModelProto(g.toModelProto({ opset: 17, irVersion: 8, producer: 'test', producerVersion: '0', graphName: 'sums' }) as never);
  const runner = await OnnxRunner.create(bytes);
  const feeds = Object.fromEntries(
    cases.map((c) => [c.name, { data: Float32Array.from({ length: c.dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i) * 3), dims: c.dims }]),
  );
  const out = await runner.runFeeds({ ...feeds, [IMAGE_MASK]: { data: Float32Array.from(imageMask), dims: [4] } });
  cases.forEach((c, k) => {
    const channelAxis = [0, 1, 2, 3].find((a) => a < c.dims.length && !c.axes.includes(a))!;
    const inner = c.dims.slice(channelAxis + 1).reduce((a, b) => a * b, 1);
    const channels = c.dims[channelAxis]!;
    const perImage = c.dims.slice(1).reduce((a, b) => a * b, 1);
    const expected = new Array<number>(channels).fill(0);
    feeds[c.name]!.data.forEach((v, i) => {
      if (!c.masked || imageMask[Math.floor(i / perImage)] === 1) expected[Math.floor(i / inner) % channels]! += v;
    });
    assert.deepEqual(out[outs[k]!]!.dims, c.dims.map((d, i) => (c.axes.includes(i) ? 1 : d)), c.name);
    expected.forEach((e, ch) => assert.ok(Math.abs(out[outs[k]!]!.data[ch]! - e) < 1e-3 * Math.max(1, Math.abs(e)), `${c.name} channel ${ch}: ${out[outs[k]!]!.data[ch]} vs ${e}`));
  });
  await runner.dispose();
});
