/** fdft's hand-written wasm SIMD helpers: results against plain loops, and the binary against its source. */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { simdFor } from '../../../../src/engine/kernels/simd/index.ts';
import { FDFT_SIMD_WASM_BASE64 } from '../../../../src/engine/kernels/simd/fdftSimdBinary.ts';
import type { BackendWasm } from '../../../../src/engine/kernels/wasmTensors.ts';
import { randomValues, useWasmEngine } from '../../backendPair.ts';

let backend: BackendWasm;
const heap = (): ArrayBuffer => (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.buffer as ArrayBuffer;
before(async () => {
  await useWasmEngine();
  tf.setBackend('wasm');
  backend = tf.backend() as unknown as BackendWasm;
});

/** A float32 tensor on the wasm heap and its byte address. */
function onHeap(values: Float32Array): { t: tf.Tensor; at: number; view: () => Float32Array } {
  const t = tf.tensor1d(values);
  const rec = (backend.dataIdMap as unknown as { get(d: object): { memoryOffset: number } }).get(t.dataId);
  return { t, at: rec.memoryOffset, view: () => new Float32Array(heap(), rec.memoryOffset, values.length) };
}

test('transpose, softmaxGrad and colSum agree with plain loops (odd sizes, SIMD edges)', () => {
  const simd = simdFor(backend);
  assert.ok(simd, 'this Node has wasm SIMD');
  const [B, R, C] = [2, 37, 45];
  const x = randomValues(B * R * C, 1);
  const src = onHeap(x);
  const dst = onHeap(new Float32Array(B * R * C));
  simd.transpose(src.at, dst.at, B, R, C);
  const got = dst.view();
  for (let b = 0; b < B; b++) for (let i = 0; i < R; i++) for (let j = 0; j < C; j++) {
    assert.equal(got[b * R * C + j * R + i], x[b * R * C + i * C + j]);
  }

  const rows = 3;
  const cols = 11;
  const y = randomValues(rows * cols, 2).map((v) => Math.abs(v));
  const dy = randomValues(rows * cols, 3);
  const [yh, dyh, dxh] = [onHeap(y), onHeap(dy), onHeap(new Float32Array(rows * cols))];
  simd.softmaxGrad(yh.at, dyh.at, dxh.at, rows, cols);
  const dx = dxh.view();
  for (let r = 0; r < rows; r++) {
    let dot = 0;
    for (let k = 0; k < cols; k++) dot += y[r * cols + k]! * dy[r * cols + k]!;
    for (let k = 0; k < cols; k++) {
      const want = y[r * cols + k]! * (dy[r * cols + k]! - dot);
      assert.ok(Math.abs(dx[r * cols + k]! - want) <= 1e-6, `softmaxGrad [${r}, ${k}]`);
    }
  }

  const acc = onHeap(new Float32Array(2 * cols)); // float64[cols]
  simd.colSum(yh.at, acc.at, rows, cols);
  const sums = new Float64Array(heap(), acc.at, cols);
  for (let k = 0; k < cols; k++) {
    let want = 0;
    for (let r = 0; r < rows; r++) want += y[r * cols + k]!;
    assert.ok(Math.abs(sums[k]! - want) <= 1e-6, `colSum [${k}]`);
  }
  tf.dispose([src.t, dst.t, yh.t, dyh.t, dxh.t, acc.t]);
});

test('the checked-in binary is fdftSimd.wat compiled', async (t) => {
  let wabt: { parseWat(n: string, s: string, f: object): { validate(): void; toBinary(o: object): { buffer: Uint8Array } } };
  try {
    const pkg = 'wabt';
    wabt = await ((await import(pkg)) as { default: () => Promise<typeof wabt> }).default();
  } catch {
    t.skip('wabt is not installed (npm install --no-save wabt to check the binary against its source)');
    return;
  }
  const wat = readFileSync(new URL('../../../../src/engine/kernels/simd/fdftSimd.wat', import.meta.url), 'utf8');
  const mod = wabt.parseWat('fdftSimd.wat', wat, { simd: true });
  mod.validate();
  assert.equal(Buffer.from(mod.toBinary({}).buffer).toString('base64'), FDFT_SIMD_WASM_BASE64);
});
