/**
 * fdft's wasm data-movement kernels (Transpose, Slice, SplitV, Unpack, StridedSlice, Tile,
 * Identity) against tfjs' cpu backend: exact equality, float32 and int32, odd shapes.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { randomValues, runOn, useWasmEngine } from '../backendPair.ts';
import { simplifyTranspose } from '../../../src/engine/kernels/transpose.ts';

before(async () => {
  await useWasmEngine();
});

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

/** Same values on both backends, exactly (these kernels only move data). */
function assertSame(f: () => tf.Tensor | tf.Tensor[], what: string): void {
  const ref = runOn('cpu', f);
  const got = runOn('wasm', f);
  assert.equal(got.length, ref.length, what);
  ref.forEach((r, i) => assert.deepEqual(Array.from(got[i]!), Array.from(r), `${what} (output ${i})`));
}

const floats = (shape: number[], seed: number) => tf.tensor(randomValues(shape.reduce((a, b) => a * b, 1), seed), shape);
const ints = (shape: number[]) => tf.range(0, shape.reduce((a, b) => a * b, 1), 1, 'int32').reshape(shape);

test('Transpose: every permutation of odd 3-D, 4-D and 5-D shapes, float32 and int32', () => {
  for (const shape of [[3, 5, 7], [2, 1, 9, 4], [6, 33, 1, 5], [2, 3, 2, 5, 3]]) {
    // All 24 permutations of the 4-D shapes; every 7th of the 120 of the 5-D one.
    for (const perm of permutations(shape.length).filter((_, i) => shape.length < 5 || i % 7 === 0)) {
      assertSame(() => tf.transpose(floats(shape, 1), perm), `float32 ${shape} ${perm}`);
      assertSame(() => tf.transpose(ints(shape), perm).cast('float32'), `int32 ${shape} ${perm}`);
    }
  }
  // Large enough for the SIMD path's edges (not multiples of 4) and its 32-column bands.
  assertSame(() => tf.transpose(floats([3, 70, 45], 2), [0, 2, 1]), 'batched 2-D swap');
  assertSame(() => tf.transpose(floats([9, 5, 6, 7], 3), [3, 1, 2, 0]), 'NHWC → CHWN');
});

test('simplifyTranspose drops size-1 axes and merges neighbours', () => {
  assert.deepEqual(simplifyTranspose([2, 1, 3, 4], [0, 2, 3, 1]), { shape: [24], perm: [0] });
  assert.deepEqual(simplifyTranspose([2, 3, 4], [0, 2, 1]), { shape: [2, 3, 4], perm: [0, 2, 1] });
  assert.deepEqual(simplifyTranspose([2, 3, 4], [2, 0, 1]), { shape: [6, 4], perm: [1, 0] });
  assert.deepEqual(simplifyTranspose([5, 6, 7, 8], [1, 2, 0, 3]), { shape: [5, 42, 8], perm: [1, 0, 2] });
});

test('Slice: contiguous and strided boxes, every rank 1–5', () => {
  const x5 = [3, 4, 5, 6, 7];
  for (let r = 1; r <= 5; r++) {
    const shape = x5.slice(0, r);
    const begin = shape.map((n, i) => (i % 2 ? 1 : 0));
    const size = shape.map((n, i) => (i === 0 ? n - begin[i]! : i % 2 ? n - 2 : -1));
    assertSame(() => tf.slice(floats(shape, r), begin, size), `rank ${r} float32`);
    assertSame(() => tf.slice(ints(shape), begin, size).cast('float32'), `rank ${r} int32`);
  }
  assertSame(() => tf.slice(floats([6, 5, 4, 3], 9), [2, 0, 0, 0], [3, 5, 4, 3]), 'leading-axis block');
  assertSame(() => tf.slice(floats([6, 5, 4, 3], 9), [0, 0, 0, 1], [6, 5, 4, 1]), 'one channel');
  assertSame(() => tf.slice(floats([6, 5], 9), [0, 0], [0, 5]), 'empty');
});

test('SplitV, Unpack (unstack) and StridedSlice', () => {
  assertSame(() => tf.split(floats([4, 9, 5], 4), [2, 3, 4], 1), 'split sizes axis 1');
  assertSame(() => tf.split(floats([6, 5, 3], 5), 3, 0), 'split evenly axis 0');
  assertSame(() => tf.split(floats([2, 3, 8], 5), 4, -1), 'split last axis');
  assertSame(() => tf.unstack(floats([3, 4, 5], 6), 1), 'unstack axis 1');
  assertSame(() => tf.unstack(floats([3, 4, 5], 6), 0), 'unstack axis 0');
  assertSame(() => tf.stridedSlice(floats([6, 7, 3], 7), [1, 0, 0], [5, 7, 3], [1, 1, 1]), 'plain box');
  assertSame(() => tf.stridedSlice(floats([6, 7, 3], 7), [0, 1, 0], [6, 7, 3], [2, 3, 1]), 'real strides');
  assertSame(() => tf.stridedSlice(floats([6, 7, 3], 7), [2], [3], [1], 0, 0, 0, 0, 1), 'shrink axis');
});

test('Tile and Identity (a view)', () => {
  assertSame(() => tf.tile(floats([1, 1, 1, 5], 8), [3, 4, 2, 1]), 'broadcast tile');
  assertSame(() => tf.tile(floats([2, 3, 4], 8), [2, 1, 3]), 'mixed reps');
  assertSame(() => tf.tile(ints([3, 2]), [2, 2]).cast('float32'), 'int32');
  assertSame(() => tf.tile(floats([5], 8), [4]), 'rank 1');
  // Repeats copied by doubling: counts that are not powers of two, on every axis.
  assertSame(() => tf.broadcastTo(floats([3, 4, 1], 8), [3, 4, 37]), 'broadcast a column along the innermost axis');
  assertSame(() => tf.tile(floats([2, 1, 3], 8), [3, 5, 7]), 'odd reps on every axis');
  assertSame(() => tf.tile(ints([1, 2, 1]), [1, 6, 9]).cast('float32'), 'int32 inner reps');
  assertSame(() => {
    const x = floats([4, 5], 9);
    const y = tf.clone(x);
    x.dispose();
    return y.add(1); // the view keeps the data alive after its source is disposed
  }, 'identity view outlives its source');
});
