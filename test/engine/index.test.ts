/** Backend selection: initEngine's choices, its named error, FDFT_BACKEND and `fdft engine`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as tf from '@tensorflow/tfjs';
import { EngineError, engineInfo, initEngine } from '../../src/engine/index.ts';

test('an unknown backend is a named EngineError', async () => {
  await assert.rejects(initEngine('gpu' as never, () => {}), { name: 'EngineError', message: /unknown backend 'gpu'/ });
  assert.ok(new EngineError('x') instanceof Error);
});

test("'wasm' selects the wasm backend with fdft's training kernels, logs once, and sticks", async () => {
  const logs: string[] = [];
  const info = await initEngine('wasm', (m) => logs.push(m));
  assert.equal(info.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(info.provider, /fdft training kernels/);
  assert.equal(logs.length, 1);
  assert.match(logs[0]!, /backend wasm/);
  assert.equal(tf.getKernel('Conv2DBackpropFilter', 'wasm') != null, true);
  assert.deepEqual(await initEngine('cpu', (m) => logs.push(m)), info, 'a later call returns the first choice');
  assert.equal(logs.length, 1);
  assert.deepEqual(engineInfo(), info);
});

function fdftEngine(env: Record<string, string>, ...args: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'engine', '--json', ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('FDFT_BACKEND and --backend choose the engine of `fdft engine`', () => {
  const cpu = fdftEngine({ FDFT_BACKEND: 'cpu' });
  assert.equal(cpu.status, 0, cpu.err);
  assert.equal(JSON.parse(cpu.out).backend, 'cpu');
  const auto = fdftEngine({}, '--backend', 'auto');
  assert.equal(auto.status, 0, auto.err);
  const info = JSON.parse(auto.out) as { backend: string; reason: string };
  // auto: tfjs-node(-gpu) when the user installed one, else wasm.
  assert.ok(['tensorflow', 'wasm'].includes(info.backend), info.backend);
  if (info.backend === 'wasm') assert.match(info.reason, /no tfjs-node/);
});

test('`fdft engine` says where training steps and the frozen backbone run', async () => {
  const { onnxAvailable } = await import('../../src/engine/onnxBackbone.ts');
  const ort = await onnxAvailable();
  const r = fdftEngine({ FDFT_BACKEND: 'wasm' });
  assert.equal(r.status, 0, r.err);
  const onnx = JSON.parse(r.out).onnxruntime as { available: boolean; trainingStep: string; frozenBackbone: string; nchwcBlock: number | null };
  assert.equal(onnx.available, ort);
  assert.equal(onnx.trainingStep, ort ? 'onnx' : 'tfjs');
  assert.equal(onnx.frozenBackbone, ort ? 'onnx' : 'tfjs');
  const { nchwcBlockSize } = await import('../../src/train/onnx/nchwcBlock.ts');
  assert.equal(onnx.nchwcBlock, ort ? ((await nchwcBlockSize()) ?? null) : null);
  const { cpuInfo } = await import('../../src/util/cpuInfo.ts');
  assert.deepEqual(JSON.parse(r.out).cpu, cpuInfo()); // the CPU kind that onnxruntime's kernels follow
  // The escape hatch turns the NCHWc kernels off.
  const off = fdftEngine({ FDFT_BACKEND: 'wasm', FDFT_ONNX_NCHWC: '0' });
  assert.equal(off.status, 0, off.err);
  assert.equal(JSON.parse(off.out).onnxruntime.nchwcBlock, null);
});
