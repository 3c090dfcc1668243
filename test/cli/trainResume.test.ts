/**
 * `fdft train` through the real CLI on tiny generated data: Ctrl-C while it pretrains prints one
 * resume hint, and that hint (`fdft train --resume <pretrain>`) — or simply the same command again —
 * finishes the pretrain and fine-tunes exactly like an uninterrupted run. A missing --data folder
 * fails before any run directory exists. The help shows the README main job and the real cache.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyDataset } from '../train/tinyDataset.ts';
import { initEngine } from '../../src/engine/index.ts';
import { loadModel } from '../../src/io/fileSystem.ts';
import { DEFAULT_CACHE_DIR } from '../../src/data/cache.ts';
import type { RunInfo } from '../../src/train/runDir.ts';

const BIN = join(process.cwd(), 'bin', 'fdft.js');
const ENV = { ...process.env, FDFT_BACKEND: 'wasm' };
let work: string;
let data: string;

// A pretrain of 2 epochs long enough to be interrupted in its second, then a 1-epoch fine-tune.
const trainArgs = () => [
  'train', '--backbone', 'shallownetv3', '--data', data, '--input-size', '32', '--seed', '3',
  '--pretrain-epochs', '2', '--steps-per-epoch', '40', '--epochs', '1', '--batch', '8',
];

function fdft(args: string[], root: string) {
  const r = spawnSync(process.execPath, [BIN, ...args, '--checkpoints', root, '--cache-dir', join(work, 'cache')], {
    encoding: 'utf8',
    env: ENV,
    timeout: 300_000,
  });
  return { ...r, output: `${r.stdout}${r.stderr}` };
}

async function runs(root: string): Promise<(RunInfo & { dir: string })[]> {
  const names = existsSync(root) ? (await readdir(root)).sort() : [];
  return Promise.all(names.map(async (n) => ({ ...(JSON.parse(await readFile(join(root, n, 'run.json'), 'utf8')) as RunInfo), dir: join(root, n) })));
}

async function onlyRun(root: string, kind: string) {
  const found = (await runs(root)).filter((r) => r.kind === kind);
  assert.equal(found.length, 1, `one ${kind} run in ${root}`);
  return found[0]!;
}

/** Starts `fdft train`, sends SIGINT once its pretrain has finished epoch 1, waits for the exit. */
async function interruptWhilePretraining(root: string) {
  const child = spawn(process.execPath, [BIN, ...trainArgs(), '--checkpoints', root, '--cache-dir', join(work, 'cache')], { env: ENV });
  let output = '';
  child.stdout.on('data', (b) => (output += b));
  child.stderr.on('data', (b) => (output += b));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let signalled = false;
  for (let i = 0; i < 6000 && !signalled && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 50));
    for (const run of await runs(root).catch(() => [])) {
      const history = join(run.dir, 'history.jsonl');
      if (run.kind === 'pretrain' && existsSync(history) && (await readFile(history, 'utf8')).trim()) {
        child.kill('SIGINT');
        signalled = true;
      }
    }
  }
  const code = await exited;
  assert.ok(signalled, `the pretrain reached epoch 1:\n${output}`);
  return { code, output, pretrain: await onlyRun(root, 'pretrain') };
}

async function weightsOf(dir: string): Promise<Float32Array[]> {
  const m = await loadModel(dir);
  const w = m.getWeights().map((t) => t.dataSync() as Float32Array);
  m.dispose();
  return w;
}

async function assertSameWeights(a: string, b: string, what: string) {
  const wa = await weightsOf(join(a, 'checkpoint'));
  const wb = await weightsOf(join(b, 'checkpoint'));
  assert.equal(wa.length, wb.length);
  let d = 0;
  wa.forEach((x, i) => x.forEach((v, j) => (d = Math.max(d, Math.abs(v - wb[i]![j]!)))));
  assert.ok(d <= 1e-6, `${what}: weights differ by ${d}`);
}

let straight: { pretrain: string; train: string };

before(async () => {
  await initEngine('wasm', () => {});
  work = await mkdtemp(join(tmpdir(), 'fdft-train-resume-'));
  data = await writeTinyDataset(join(work, 'tiny'), 30, 32);
  const root = join(work, 'straight');
  const r = fdft(trainArgs(), root);
  assert.equal(r.status, 0, r.output);
  straight = { pretrain: (await onlyRun(root, 'pretrain')).dir, train: (await onlyRun(root, 'train')).dir };
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('Ctrl-C while fdft train pretrains: one hint, and fdft train --resume <pretrain> finishes the job like a straight run', async () => {
  const root = join(work, 'resumed');
  const { code, output, pretrain } = await interruptWhilePretraining(root);
  assert.equal(code, 130, output);
  assert.equal(pretrain.status, 'interrupted');
  assert.equal(output.match(/--resume/g)?.length, 1, `the resume hint is printed once:\n${output}`);
  assert.ok(output.includes(`continue with: fdft train --resume ${pretrain.dir}`), output);

  const r = fdft(['train', '--resume', pretrain.dir], root);
  assert.equal(r.status, 0, r.output);
  assert.equal((await onlyRun(root, 'pretrain')).status, 'finished');
  const train = await onlyRun(root, 'train');
  assert.equal(train.status, 'finished');
  assert.equal((train.config as { backboneWeights?: string }).backboneWeights, pretrain.dir, 'fine-tuned on the resumed pretrain');
  await assertSameWeights(straight.pretrain, pretrain.dir, 'pretrain');
  await assertSameWeights(straight.train, train.dir, 'fine-tune');
});

test('the same fdft train command again resumes its interrupted pretrain instead of starting a new one', async () => {
  const root = join(work, 'rerun');
  const { code, pretrain } = await interruptWhilePretraining(root);
  assert.equal(code, 130);
  const r = fdft(trainArgs(), root);
  assert.equal(r.status, 0, r.output);
  assert.ok(r.output.includes(`resuming the interrupted pretrain ${pretrain.dir}`), r.output);
  assert.doesNotMatch(r.output, /pretraining first/);
  assert.equal((await onlyRun(root, 'pretrain')).status, 'finished');
  await assertSameWeights(straight.pretrain, pretrain.dir, 'pretrain');
  await assertSameWeights(straight.train, (await onlyRun(root, 'train')).dir, 'fine-tune');
});

test('fdft train with a missing --data folder fails before making a run directory or pretraining', () => {
  const root = join(work, 'bad-data');
  const r = fdft(['train', '--data', join(work, 'absent'), '--backbone', 'shallownetv3', '--preset', 'quick'], root);
  assert.equal(r.status, 1, r.output);
  assert.match(r.stderr, /DatasetError: dataset folder .*absent does not exist/);
  assert.doesNotMatch(r.output, /pretraining first|run directory/);
  assert.equal(existsSync(root), false, 'no checkpoints folder, so no run directory');
});

test('train and pretrain --help: the README main job as the example and the real cache default', () => {
  const help = (command: string) => spawnSync(process.execPath, [BIN, command, '--help'], { encoding: 'utf8' }).stdout;
  assert.match(help('train'), /fdft train --backbone shallownetv3 --preset quick +the README main job/);
  for (const command of ['train', 'pretrain']) assert.ok(help(command).includes(`(default: ${DEFAULT_CACHE_DIR})`), `${command} --help`);
});
