import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { LayerInputError, MBHead } from '../../layers/index.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

function inboundNames(layer: tf.layers.Layer): string[] {
  return layer.inboundNodes[0]!.inboundLayers.map((l) => l.name);
}

test('N = 1..4 blocks give a 576-d vector on any backbone feature map', () => {
  for (const fm of [[2, 2, 2048], [3, 3, 512], [12, 12, 32]]) {
    for (const N of [1, 2, 3, 4]) {
      const head = new MBHead({ blocks: N });
      assert.deepEqual(head.apply(tf.input({ shape: fm })).shape, [null, 576], `N=${N} on ${fm}`);
      assert.equal(head.blocks.length, N);
    }
  }
  assert.throws(() => new MBHead({ blocks: 0 }), LayerInputError);
});

test('Table 3 structure: 3x3/2 then 5x5/1 depthwise, SE gates the depthwise output, residual after block 1', () => {
  const head = new MBHead({ blocks: 4, prefix: 'mb' });
  assert.deepEqual(head.apply(tf.input({ shape: [12, 12, 32] })).shape, [null, 576]);
  const byName = new Map(head.layers.map((l) => [l.name, l]));
  const dw1 = byName.get('mb1_dw')!.getConfig();
  const dw2 = byName.get('mb2_dw')!.getConfig();
  assert.deepEqual([dw1.kernelSize, dw1.strides], [[3, 3], [2, 2]]);
  assert.deepEqual([dw2.kernelSize, dw2.strides], [[5, 5], [1, 1]]);
  assert.deepEqual(byName.get('mb1_dw')!.outputShape, [null, 6, 6, 576]);
  // The gate multiplies the depthwise (BN) output, not the expand output.
  for (const b of [1, 2, 3, 4]) {
    assert.deepEqual(inboundNames(byName.get(`mb${b}_se_mul`)!), [`mb${b}_dw_bn`, `mb${b}_se_hsigmoid`]);
    assert.equal(byName.get(`mb${b}_se_reduce`)!.countParams(), 82944);
    assert.equal(byName.get(`mb${b}_se_expand`)!.countParams(), 82944);
    assert.equal(byName.get(`mb${b}_project`)!.countParams(), 576 * 128);
  }
  assert.equal(byName.has('mb1_add'), false, 'stride-2 block has no residual');
  assert.deepEqual(inboundNames(byName.get('mb2_add')!), ['mb1_project_bn', 'mb2_project_bn']);
  assert.equal(byName.get('mb1_expand')!.countParams(), 32 * 576);
  assert.equal(byName.get('mb2_expand')!.countParams(), 128 * 576);
  assert.equal(byName.get('mb_conv')!.countParams(), 128 * 576);
  assert.equal(byName.get('mb2_dw')!.countParams(), 25 * 576);
});
