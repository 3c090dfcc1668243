/** Static shape inference of training graphs: window ops, reshapes with 0 / −1, negative-step slices, splits, reductions, broadcasting. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attr, OnnxGraph } from '../../../src/export/onnxGraph.ts';
import { broadcastDims, inferShapes } from '../../../src/train/onnx/shapes.ts';
import { OnnxTrainingError } from '../../../src/train/onnx/errors.ts';

test('shapes through conv, pooling, reshape, slice, split, reductions and broadcasting', () => {
  const g = new OnnxGraph();
  const x = g.addInput('x', [4, 3, 9, 9]);
  const w = g.addFloat('w', new Float32Array(6 * 3 * 3 * 3), [6, 3, 3, 3]);
  const conv = g.op('Conv', [x, w], 'conv', { strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 0, 0]) });
  const pool = g.add('MaxPool', [conv], 'pool', { kernel_shape: attr.ints([3, 3]), strides: attr.ints([2, 2]), pads: attr.ints([1, 1, 1, 1]) }, 2);
  const flat = g.op('Reshape', [pool[0]!, g.addInt64('shape', [0, -1])], 'flat');
  const flipped = g.op('Slice', [conv, g.addInt64('s', [-1]), g.addInt64('e', [-(2 ** 62)]), g.addInt64('a', [3]), g.addInt64('st', [-1])], 'flip');
  const strided = g.op('Slice', [x, g.addInt64('s2', [1]), g.addInt64('e2', [9]), g.addInt64('a2', [2]), g.addInt64('st2', [3])], 'strided');
  const parts = g.add('Split', [x, g.addInt64('sizes', [1, 3])], 'split', { axis: attr.int(0) }, 2);
  const mean = g.op('ReduceMean', [conv], 'mean', { axes: attr.ints([0, 2, 3]), keepdims: attr.int(1) });
  const sum = g.op('ReduceSum', [conv, g.addInt64('axes', [1])], 'sum', { keepdims: attr.int(0) });
  const centred = g.op('Sub', [conv, mean], 'centred');
  const mm = g.op('MatMul', [g.op('Reshape', [conv, g.addInt64('s3', [4, 6, 16])], 'r3'), g.addFloat('m', new Float32Array(16 * 5), [16, 5])], 'mm');
  const shapes = inferShapes(g);
  assert.deepEqual(shapes.get(conv), [4, 6, 4, 4]);
  assert.deepEqual(shapes.get(pool[0]!), [4, 6, 2, 2]);
  assert.deepEqual(shapes.get(pool[1]!), [4, 6, 2, 2], 'the arg-max indices');
  assert.deepEqual(shapes.get(flat), [4, 24]);
  assert.deepEqual(shapes.get(flipped), [4, 6, 4, 4]);
  assert.deepEqual(shapes.get(strided), [4, 3, 3, 9]);
  assert.deepEqual(shapes.get(parts[0]!), [1, 3, 9, 9]);
  assert.deepEqual(shapes.get(parts[1]!), [3, 3, 9, 9]);
  assert.deepEqual(shapes.get(mean), [1, 6, 1, 1]);
  assert.deepEqual(shapes.get(sum), [4, 4, 4]);
  assert.deepEqual(shapes.get(centred), [4, 6, 4, 4]);
  assert.deepEqual(shapes.get(mm), [4, 6, 5]);
});

test('dynamic inputs, unknown ops and shapes that do not broadcast are named errors', () => {
  const dynamic = new OnnxGraph();
  dynamic.addInput('x', [null, 3]);
  assert.throws(() => inferShapes(dynamic), /dynamic dimension/);
  const unknown = new OnnxGraph();
  unknown.op('Einsum', [unknown.addInput('x', [2, 2])], 'e');
  assert.throws(() => inferShapes(unknown), OnnxTrainingError);
  assert.deepEqual(broadcastDims([[4, 1, 3], [5, 1]], 't'), [4, 5, 3]);
  assert.throws(() => broadcastDims([[4, 2], [3]], 't'), /do not broadcast/);
});
