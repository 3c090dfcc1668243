import assert from 'node:assert/strict';
import { test } from 'node:test';
import { onnxAvailable } from '../../../src/engine/onnxBackbone.ts';
import { nchwcBlockSize } from '../../../src/train/onnx/nchwcBlock.ts';

test('the NCHWc probe finds the channel block of a working onnxruntime (8 with AVX2, 16 with AVX-512), once per process', async (t) => {
  if (!(await onnxAvailable())) return t.skip('onnxruntime-node does not load here');
  const block = await nchwcBlockSize();
  // onnxruntime registers them only on CPUs with AVX2 or AVX-512 (MLAS).
  if (block === undefined) return t.skip(`no NCHWc kernels on this ${process.arch} CPU: training graphs keep plain Convs`);
  assert.ok([8, 16].includes(block), `block ${block}`);
  assert.equal(await nchwcBlockSize(), block);
});

test('FDFT_ONNX_NCHWC=0 turns the NCHWc kernels off', async () => {
  const before = process.env.FDFT_ONNX_NCHWC;
  process.env.FDFT_ONNX_NCHWC = '0';
  try {
    assert.equal(await nchwcBlockSize(), undefined);
  } finally {
    if (before === undefined) delete process.env.FDFT_ONNX_NCHWC;
    else process.env.FDFT_ONNX_NCHWC = before;
  }
});
