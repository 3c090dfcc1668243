/**
 * The run-level wiring of data parallelism: the default worker count, and `fdft pretrain --workers 2`
 * through the real CLI (the count lands in run.json, not in the config hash; the replica folder goes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoWorkerCount, resolveWorkerCount, REPLICA_DIR } from '../../../src/train/parallel/runGradients.ts';
import { ParallelTrainingError } from '../../../src/train/parallel/errors.ts';
import { writeTinyDataset } from '../tinyDataset.ts';

test('auto worker count: one per core up to 8, ≥ 16 images per slice, 1 with tfjs-node', () => {
  assert.equal(autoWorkerCount('wasm', 128, 2), 2);
  assert.equal(autoWorkerCount('wasm', 128, 16), 8);
  assert.equal(autoWorkerCount('wasm', 48, 16), 3);
  assert.equal(autoWorkerCount('cpu', 8, 4), 1, 'small batches stay in-thread');
  assert.equal(autoWorkerCount('tensorflow', 128, 16), 1);
  assert.equal(resolveWorkerCount(3, 'wasm', 8), 3, 'an explicit count wins');
  assert.throws(() => resolveWorkerCount(0, 'wasm', 8), ParallelTrainingError);
  assert.throws(() => resolveWorkerCount(1.5, 'wasm', 8), ParallelTrainingError);
});

/**
 * `fdft pretrain` of one 2-step epoch at 32 px (batch 8 unless `extra` sets one) on the tiny set in `work` (wasm backend), into the
 * checkpoints folder `ck`; returns the CLI's output, its run.json, the run folder and its history.
 */
async function tinyPretrain(work: string, ck: string, data: string, extra: string[]) {
  const batch = extra.includes('--batch') ? [] : ['--batch', '8'];
  const args = ['pretrain', '--data', data, '--input-size', '32', ...batch, '--epochs', '1', '--steps-per-epoch', '2', '--seed', '3',
    '--checkpoints', ck, '--cache-dir', join(work, 'cache'), '--json', ...extra];
  const r = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'fdft.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, FDFT_BACKEND: 'wasm' },
    timeout: 240_000,
  });
  assert.equal(r.status, 0, `fdft ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  const [run] = await readdir(ck);
  const runDir = join(ck, run!);
  const info = JSON.parse(await readFile(join(runDir, 'run.json'), 'utf8'));
  const history = (await readFile(join(runDir, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  return { output: r.stderr + r.stdout, info, runDir, history };
}

test('fdft pretrain --workers 2 trains through the pool and records the count in run.json', async () => {
  const work = await mkdtemp(join(tmpdir(), 'fdft-parallel-cli-'));
  try {
    const data = await writeTinyDataset(join(work, 'tiny'), 16, 32);
    const { output, info, runDir, history } = await tinyPretrain(work, join(work, 'checkpoints'), data, ['--backbone', 'squeezenet', '--workers', '2']);
    assert.equal(info.status, 'finished');
    assert.equal(info.workers, 2);
    assert.equal(info.trainEngine, 'tfjs', 'a worker count asks for the tfjs engine');
    assert.equal(info.config.workers, undefined, 'the workers count is not part of the config');
    assert.match(output, /data-parallel: 2 gradient workers/);
    assert.ok(!existsSync(join(runDir, REPLICA_DIR)), 'the replica folder is removed');
    assert.equal(history.length, 1);
    assert.ok(Number.isFinite(history[0].loss) && history[0].steps === 2);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test('fdft pretrain runs its step on onnxruntime by default and records it; --train-engine tfjs keeps tfjs', async () => {
  const { onnxAvailable } = await import('../../../src/engine/onnxBackbone.ts');
  const ort = await onnxAvailable();
  const work = await mkdtemp(join(tmpdir(), 'fdft-train-engine-'));
  try {
    const data = await writeTinyDataset(join(work, 'tiny'), 16, 32);
    for (const engine of [undefined, 'tfjs'] as const) {
      const ck = join(work, `checkpoints-${engine ?? 'auto'}`);
      const extra = ['--backbone', 'shallownetv3', ...(engine ? ['--train-engine', engine] : [])];
      const { output, info, history } = await tinyPretrain(work, ck, data, extra);
      const expected = engine === 'tfjs' || !ort ? 'tfjs' : 'onnx';
      assert.equal(info.trainEngine, expected);
      assert.equal(info.config.trainEngine, undefined, 'the engine is not part of the config');
      if (expected === 'onnx') assert.match(output, /training step: onnxruntime-node, .*graph for batch 8 /);
      assert.ok(Number.isFinite(history[0].loss) && Number.isFinite(history[0].valAuroc));
    }
    if (ort) {
      // A batch larger than the training split: the step's graph is built for the split's size, not padded to 64.
      const { output, info } = await tinyPretrain(work, join(work, 'checkpoints-large-batch'), data, ['--backbone', 'shallownetv3', '--batch', '64']);
      const trainImages = Number(/train\s+\d+\s+\d+\s+(\d+)/.exec(output)?.[1]);
      assert.ok(trainImages > 0 && trainImages < 64, `the split table gives ${trainImages} training images`);
      assert.match(output, new RegExp(`graph for batch ${trainImages} `));
      assert.equal(info.status, 'finished');
    }
    const bad = spawnSync(process.execPath, [join(process.cwd(), 'bin', 'fdft.js'), 'pretrain', '--train-engine', 'gpu'], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /train-engine/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
