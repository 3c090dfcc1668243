import { test } from 'node:test';
import assert from 'node:assert/strict';
import { channelSums, sumsAsMatMul } from '../../src/export/channelSums.ts';
import { OnnxGraph } from '../../src/export/onnxGraph.ts';
import { encodeModelProto } from '../../src/export/onnxSchema.ts';
import { onnxUnavailableReason, OnnxRunner } from '../../src/engine/onnxBackbone.ts';

test('sumsAsMatMul: channel-last sums over every other axis, from 2048 values per channel', () => {
  assert.equal(sumsAsMatMul([8, 16, 16, 4], [0, 1, 2]), true);
  assert.equal(sumsAsMatMul([7, 16, 16, 4], [0, 1, 2]), false, '1792 values per channel');
  assert.equal(sumsAsMatMul([8, 4, 16, 16], [0, 2, 3]), false, 'channel axis 1 (NCHW)');
  assert.equal(sumsAsMatMul([4096, 3], [0]), true);
  assert.equal(sumsAsMatMul([4096, 3, 5], [0]), false, 'not every axis but the last');
});

test('channelSums: per-channel sums (scaled) in keepdims form, rank 4 and 2, sharing one ones row per row count', async (t) => {
  const unavailable = await onnxUnavailableReason();
  if (unavailable) return t.skip(`onnxruntime-node does not load here: ${unavailable}`);
  const g = new OnnxGraph();
  const dims4 = [3, 5, 7, 4];
  const x4 = g.addInput('x4', dims4);
  const x2 = g.addInput('x2', [105, 4]);
  const s4 = channelSums(g, x4, dims4, 's4', 0.5);
  const s2 = channelSums(g, x2, [105, 4], 's2');
  g.addOutput(s4, [1, 1, 1, 4]);
  g.addOutput(s2, [1, 4]);
  assert.equal([...g.initializers.keys()].filter((k) => k.startsWith('channel_sums/ones_')).length, 1, 'one ones row for 105 rows');
  const bytes = encodeModelProto(g.toModelProto({ opset: 17, irVersion: 8, producer: 'test', producerVersion: '0', graphName: 'sums' }) as never);
  const runner = await OnnxRunner.create(bytes);
  const data = Float32Array.from({ length: 105 * 4 }, (_, i) => Math.sin(i) * 3);
  const out = await runner.runFeeds({ x4: { data, dims: dims4 }, x2: { data, dims: [105, 4] } });
  const expected = [0, 1, 2, 3].map((c) => data.filter((_, i) => i % 4 === c).reduce((a, b) => a + b, 0));
  assert.deepEqual(out[s4]!.dims, [1, 1, 1, 4]);
  assert.deepEqual(out[s2]!.dims, [1, 4]);
  expected.forEach((e, c) => {
    assert.ok(Math.abs(out[s2]!.data[c]! - e) < 1e-4, `channel ${c}: ${out[s2]!.data[c]} vs ${e}`);
    assert.ok(Math.abs(out[s4]!.data[c]! - 0.5 * e) < 1e-4, `channel ${c}, scaled: ${out[s4]!.data[c]} vs ${0.5 * e}`);
  });
  await runner.dispose();
});
