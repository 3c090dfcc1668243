import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/index.ts';
import { onnxAvailable } from '../../src/engine/onnxBackbone.ts';
import { evaluateRun } from '../../src/eval/evaluateRun.ts';
import { saveModel } from '../../src/io/fileSystem.ts';
import { createBackbone } from '../../src/models/index.ts';
import { RUN_INFO_FILE } from '../../src/train/runDir.ts';

let dir: string;
let runDir: string;

before(async () => {
  await initEngine('wasm', () => {});
  dir = await mkdtemp(join(tmpdir(), 'fdft-eval-run-'));
  const data = join(dir, 'data');
  for (const [cls, v] of [['real', 40], ['fake', 200]] as const) {
    await mkdir(join(data, cls), { recursive: true });
    for (let i = 0; i < 20; i++) {
      await sharp(Buffer.alloc(32 * 32 * 3, (v + 3 * i) & 255), { raw: { width: 32, height: 32, channels: 3 } })
        .png()
        .toFile(join(data, cls, `img${i}.png`));
    }
  }
  // A finished-looking pretrain run: an untrained baseline classifier is enough to evaluate.
  runDir = join(dir, 'run');
  const model = createBackbone('shallownetv3', { inputSize: 32, includeTop: true, seed: 1 });
  await saveModel(model, join(runDir, 'best'));
  model.dispose();
  const config = { command: 'pretrain', backbone: 'shallownetv3', data, datasetName: 'data', inputSize: 32, fit: 'squash', seed: 1 };
  await writeFile(join(runDir, RUN_INFO_FILE), JSON.stringify({ backbone: 'shallownetv3', status: 'finished', config }));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evaluated(engine: 'tfjs' | 'onnx', out: string) {
  await evaluateRun(runDir, { split: 'test', engine, out, cacheDir: join(dir, 'cache') });
  return { json: JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')), md: await readFile(join(out, 'summary.md'), 'utf8') };
}

test('the eval report records the engine that ran the model, and the tfjs backend apart', async () => {
  const tfjs = await evaluated('tfjs', join(dir, 'eval-tfjs'));
  assert.equal(tfjs.json.extra.engine, 'tfjs (wasm backend)');
  assert.equal(tfjs.json.extra.tfjsBackend, 'wasm');
  assert.equal(tfjs.json.extra.backend, undefined);
  assert.match(tfjs.md, /\| engine \| tfjs \(wasm backend\) \|/);
  if (!(await onnxAvailable())) return; // onnxruntime-node is optional
  const onnx = await evaluated('onnx', join(dir, 'eval-onnx'));
  assert.equal(onnx.json.extra.engine, 'onnx (onnxruntime-node)');
  assert.match(onnx.json.extra.engineReason, /onnxruntime-node/);
  assert.equal(onnx.json.extra.tfjsBackend, 'wasm');
  assert.match(onnx.md, /\| engine \| onnx \(onnxruntime-node\) \|/);
  assert.doesNotMatch(onnx.md, /\| backend \| wasm \|/);
});
