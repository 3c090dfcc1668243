/**
 * End to end on tiny generated data, through the real `fdft` CLI: pretrain → train → eval →
 * predict for two backbones; resume after SIGKILL equals a straight run; the loaded checkpoint
 * predicts like the in-memory model; early stopping restores the best epoch; --no-ftt builds no
 * FTT weights; a NaN loss stops with a named error.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeTinyDataset } from './tinyDataset.ts';
import { initEngine } from '../../src/engine/index.ts';
import { loadModel } from '../../src/io/fileSystem.ts';
import { readScalars } from '../../src/train/tensorboard.ts';
import { cpuInfo } from '../../src/util/cpuInfo.ts';

const BIN = join(process.cwd(), 'bin', 'fdft.js');
let work: string;
let data: string;
let ck: string;

// Small and fast: 32x32 inputs, batch 8, a few steps per epoch.
const COMMON = ['--input-size', '32', '--batch', '8', '--seed', '3', '--quiet', '--json'];

function fdft(args: string[], opts: { expectFail?: boolean } = {}) {
  const extra = args[0] === 'predict' ? ['--checkpoints', ck] : ['--checkpoints', ck, '--cache-dir', join(work, 'cache')];
  const r = spawnSync(process.execPath, [BIN, ...args, ...extra], {
    encoding: 'utf8',
    env: { ...process.env, FDFT_BACKEND: 'wasm' },
    timeout: 240_000,
  });
  if (!opts.expectFail && r.status !== 0) throw new Error(`fdft ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r;
}

function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]!);
}

async function runDirs(): Promise<string[]> {
  return (await readdir(ck)).map((n) => join(ck, n)).sort();
}

async function weightsOf(dir: string): Promise<Float32Array[]> {
  const m = await loadModel(dir);
  const w = m.getWeights().map((t) => t.dataSync() as Float32Array);
  m.dispose();
  return w;
}

function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let d = 0;
  a.forEach((x, i) => {
    assert.equal(x.length, b[i]!.length);
    for (let j = 0; j < x.length; j++) d = Math.max(d, Math.abs(x[j]! - b[i]![j]!));
  });
  return d;
}

before(async () => {
  await initEngine('wasm', () => {});
  work = await mkdtemp(join(tmpdir(), 'fdft-e2e-'));
  data = await writeTinyDataset(join(work, 'tiny'), 30, 32);
  ck = join(work, 'checkpoints');
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

for (const backbone of ['squeezenet', 'shallownetv3']) {
  test(`pretrain → train → eval → predict with ${backbone}`, async () => {
    const pre = lastJson(fdft(['pretrain', '--backbone', backbone, '--data', data, '--epochs', '2', '--steps-per-epoch', '3', ...COMMON]).stdout);
    assert.ok(existsSync(join(pre.run, 'best', 'model.json')), 'pretrain keeps its best weights');
    assert.ok(pre.test.auroc >= 0 && pre.test.auroc <= 1);
    const runInfo = JSON.parse(await readFile(join(pre.run, 'run.json'), 'utf8'));
    assert.equal(runInfo.status, 'finished');
    assert.equal(runInfo.config.seed, 3, 'the resolved config (with the seed) is stored');
    // The CPU kind: onnxruntime's kernels, and so the run's last bits, depend on its vector extensions.
    assert.deepEqual(runInfo.cpu, cpuInfo());

    // train reuses that pretrain (same backbone, data and split) instead of pretraining again.
    const tr = lastJson(fdft(['train', '--backbone', backbone, '--data', data, '--M', '2', '--N', '1', '--epochs', '2', '--steps-per-epoch', '2', '--lr', '0.01', ...COMMON]).stdout);
    const trInfo = JSON.parse(await readFile(join(tr.run, 'run.json'), 'utf8'));
    assert.equal(trInfo.config.backboneWeights, pre.run);
    assert.equal(trInfo.status, 'finished');
    const history = (await readFile(join(tr.run, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(history.length, 2);
    for (const f of ['metrics.json', 'summary.md', 'roc.png', 'histogram.png', 'scores.csv']) {
      assert.ok((await stat(join(tr.run, 'eval-test', f))).size > 0, `eval-test/${f}`);
    }
    // TensorBoard scalars: losses per epoch and the FTT gammas.
    const scalars = readScalars(join(tr.run, 'tensorboard'));
    const tags = new Set(scalars.map((s) => s.tag));
    for (const t of ['train/loss', 'val/loss', 'val/auroc', 'train/learning_rate']) assert.ok(tags.has(t), `tensorboard has ${t}`);
    assert.ok([...tags].some((t) => t.startsWith('ftt/gamma')), 'tensorboard has the attention gammas');

    // eval on the run's test split reproduces the metrics written at the end of training.
    const ev = lastJson(fdft(['eval', '--checkpoint', tr.run, '--out', join(work, `eval-${backbone}`), '--quiet', '--json']).stdout);
    assert.ok(Math.abs(ev.metrics.auroc - tr.test.auroc) < 1e-6);
    assert.ok(Math.abs(ev.metrics.accuracy - tr.test.accuracy) < 1e-9);

    // predict: one file, one directory, one bad file (reported, not fatal).
    const bad = join(work, 'not-an-image.jpg');
    await import('node:fs/promises').then((fs) => fs.writeFile(bad, 'hello'));
    const pr = fdft(['predict', '--checkpoint', tr.run, join(data, 'fake', 'fake-000.png'), join(data, 'real'), bad, '--quiet', '--json']);
    const preds = JSON.parse(pr.stdout.trim().split('\n').pop()!) as { path: string; fake?: number; error?: string }[];
    assert.equal(preds.filter((p) => p.fake !== undefined).length, 31);
    assert.ok(preds.find((p) => p.path === bad)?.error, 'the bad file is reported');
    for (const p of preds) if (p.fake !== undefined) assert.ok(p.fake >= 0 && p.fake <= 1);
  });
}

test('fdft train --no-augment computes each training image\'s feature maps once and trains the heads on them', async () => {
  // Uses the shallownetv3 pretrain of the first test. Not --quiet: the log counts the maps' batches.
  const train = (epochs: number, augment: boolean) => {
    const args = ['train', '--backbone', 'shallownetv3', '--data', data, '--M', '1', '--N', '1', '--epochs', String(epochs), '--steps-per-epoch', '2', '--lr', '0.01'];
    const r = fdft([...args, ...(augment ? [] : ['--no-augment']), ...COMMON.filter((a) => a !== '--quiet')]);
    const counts = /on feature maps computed once \((\d+) backbone batches for (\d+) batches of maps/.exec(r.stdout);
    assert.ok(counts, r.stdout);
    return { out: r.stdout, backboneBatches: Number(counts[1]), servedBatches: Number(counts[2]), result: lastJson(r.stdout) };
  };
  const kept = train(3, false);
  const augmented = train(3, true);
  assert.match(kept.out, /no augmentation: the training images' feature maps are computed once and kept/);
  // The same validation and precise-BN batches in both runs; without augmentation the 3 × 2 training
  // batches take their maps from the cache too.
  assert.equal(kept.servedBatches - augmented.servedBatches, 3 * 2);
  // Epoch 1's precise BN meets every training image: epochs 2 and 3 run the backbone no more.
  const oneEpoch = train(1, false);
  assert.equal(kept.backboneBatches, oneEpoch.backboneBatches);
  assert.ok(Number.isFinite(kept.result.test.auroc));
  const { onnxAvailable } = await import('../../src/engine/onnxBackbone.ts');
  if (await onnxAvailable()) {
    // The step's graph is the heads' alone; with augmentation it holds the frozen backbone.
    assert.doesNotMatch(kept.out, /frozen backbone inside its graph/);
    assert.match(augmented.out, /frozen backbone inside its graph/);
  }
});

test('a loaded checkpoint predicts exactly like the in-memory model; --no-ftt has no FTT weights', async () => {
  const { createFdftNet } = await import('../../src/models/fdftnet.ts');
  const { saveModel } = await import('../../src/io/fileSystem.ts');
  for (const useFtt of [true, false]) {
    const net = createFdftNet({ backbone: 'squeezenet', inputSize: 32, M: 2, N: 1, useFtt, seed: 5 });
    const names = net.model.weights.map((w) => w.name).join(' ');
    assert.equal(/ftt|attention/i.test(names), useFtt, `FTT weights present iff useFtt (${useFtt})`);
    const dir = join(work, `roundtrip-${useFtt}`);
    await saveModel(net.model, dir);
    const loaded = await loadModel(dir);
    const x = tf.randomUniform([3, 32, 32, 3], 0, 1, 'float32', 1);
    const a = (net.model.predict(x) as tf.Tensor).dataSync();
    const b = (loaded.predict(x) as tf.Tensor).dataSync();
    assert.deepEqual(Array.from(b), Array.from(a));
    tf.dispose([x]);
    net.model.dispose();
    loaded.dispose();
  }
});

test('resume after SIGKILL mid-epoch gives the same weights and metrics as a straight run', async () => {
  const args = ['pretrain', '--backbone', 'shallownetv3', '--data', data, '--epochs', '3', '--steps-per-epoch', '4', ...COMMON];
  const straight = lastJson(fdft(args).stdout);

  // Same run, killed with SIGKILL once epoch 1 is checkpointed and epoch 2 is under way.
  const before = new Set(await runDirs());
  const child = spawn(process.execPath, [BIN, ...args, '--checkpoints', ck, '--cache-dir', join(work, 'cache')], {
    env: { ...process.env, FDFT_BACKEND: 'wasm' },
    stdio: 'ignore',
  });
  let killedDir: string | undefined;
  for (let i = 0; i < 2400 && !killedDir; i++) {
    await new Promise((r) => setTimeout(r, 50));
    for (const d of await runDirs()) {
      if (before.has(d)) continue;
      const h = join(d, 'history.jsonl');
      if (existsSync(h) && (await readFile(h, 'utf8')).trim().split('\n').length >= 1) {
        await new Promise((r) => setTimeout(r, 150)); // into epoch 2
        child.kill('SIGKILL');
        killedDir = d;
      }
    }
  }
  await new Promise((r) => child.once('exit', r));
  assert.ok(killedDir, 'the run reached epoch 1 before the kill');
  const info = JSON.parse(await readFile(join(killedDir, 'run.json'), 'utf8'));
  assert.notEqual(info.status, 'finished', 'killed before it finished');

  const resumed = lastJson(fdft(['pretrain', '--resume', killedDir, '--quiet', '--json']).stdout);
  assert.equal(resumed.run, killedDir);
  const d = maxAbsDiff(await weightsOf(join(straight.run, 'checkpoint')), await weightsOf(join(killedDir, 'checkpoint')));
  assert.ok(d <= 1e-6, `final weights differ by ${d}`);
  assert.ok(Math.abs(resumed.test.auroc - straight.test.auroc) <= 1e-6);
  assert.ok(Math.abs(resumed.test.accuracy - straight.test.accuracy) <= 1e-6);
  const hs = (await readFile(join(straight.run, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).valLoss);
  const hr = (await readFile(join(killedDir, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).valLoss);
  assert.equal(hr.length, 3, 'history has each epoch once');
  hs.forEach((v: number, i: number) => assert.ok(Math.abs(v - hr[i]) <= 1e-6));
});

test('early stopping restores the best epoch (lowest val loss) and stops after `patience` bad epochs', async () => {
  const r = lastJson(
    fdft(['pretrain', '--backbone', 'shallownetv3', '--data', data, '--epochs', '5', '--steps-per-epoch', '2', '--patience', '1', '--lr', '0.01', ...COMMON]).stdout,
  );
  const info = JSON.parse(await readFile(join(r.run, 'run.json'), 'utf8'));
  const history = (await readFile(join(r.run, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const losses = history.map((h) => h.valLoss as number);
  const bestEpoch = losses.indexOf(Math.min(...losses)) + 1;
  assert.equal(info.bestEpoch, bestEpoch);
  assert.equal(JSON.parse(await readFile(join(r.run, 'best', 'best.json'), 'utf8')).epoch, bestEpoch);
  if (info.stoppedEarly) assert.equal(info.epochsCompleted - bestEpoch, 1, 'stops once patience (1) epochs did not improve');
  else assert.equal(info.epochsCompleted, 5);
  // The test metrics were computed with the restored best weights: re-evaluating best/ gives them again.
  const ev = lastJson(fdft(['eval', '--checkpoint', r.run, '--out', join(work, 'eval-es'), '--quiet', '--json']).stdout);
  assert.ok(Math.abs(ev.metrics.auroc - r.test.auroc) < 1e-6);
});

test('--monitor val_auroc: early stopping and the restored best epoch follow the validation AUROC', async () => {
  const r = lastJson(
    fdft(['pretrain', '--backbone', 'shallownetv3', '--data', data, '--epochs', '5', '--steps-per-epoch', '2', '--patience', '1', '--lr', '0.01', '--monitor', 'val_auroc', ...COMMON]).stdout,
  );
  const info = JSON.parse(await readFile(join(r.run, 'run.json'), 'utf8'));
  assert.equal(info.config.monitor, 'val_auroc');
  const history = (await readFile(join(r.run, 'history.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const aurocs = history.map((h) => h.valAuroc as number);
  const bestEpoch = aurocs.indexOf(Math.max(...aurocs)) + 1; // the first of equal maxima: a tie is no improvement
  assert.equal(info.bestEpoch, bestEpoch);
  assert.equal(JSON.parse(await readFile(join(r.run, 'best', 'best.json'), 'utf8')).epoch, bestEpoch);
  if (info.stoppedEarly) assert.equal(info.epochsCompleted - bestEpoch, 1, 'stops once patience (1) epochs did not improve the AUROC');
  else assert.equal(info.epochsCompleted, 5);
  const bad = fdft(['pretrain', '--backbone', 'shallownetv3', '--data', data, '--monitor', 'val_acc', ...COMMON], { expectFail: true });
  assert.notEqual(bad.status, 0);
  assert.match(bad.stderr, /monitor/);
});

test('a NaN loss stops the run with a named error and keeps the last good checkpoint', () => {
  const r = fdft(['pretrain', '--backbone', 'shallownetv3', '--data', data, '--epochs', '3', '--steps-per-epoch', '3', '--optimizer', 'sgd', '--lr', '1e30', ...COMMON], {
    expectFail: true,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /NonFiniteLossError|not finite|NaN/i);
});
