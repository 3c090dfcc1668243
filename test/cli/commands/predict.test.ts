import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { initEngine } from '../../../src/engine/index.ts';
import { saveModel } from '../../../src/io/fileSystem.ts';
import { createBackbone } from '../../../src/models/index.ts';
import { RUN_INFO_FILE } from '../../../src/train/runDir.ts';

const run = promisify(execFile);
let dir: string;
let runDir: string;
let image: string;

const predict = (inputs: string[]) =>
  run(process.execPath, ['bin/fdft.js', '--backend', 'wasm', 'predict', '--checkpoint', runDir, '--engine', 'tfjs', ...inputs], { encoding: 'utf8' });

before(async () => {
  await initEngine('wasm', () => {});
  dir = await mkdtemp(join(tmpdir(), 'fdft-cli-predict-'));
  // A finished-looking pretrain run: an untrained baseline classifier is enough to score images.
  runDir = join(dir, 'run');
  const model = createBackbone('shallownetv3', { inputSize: 32, includeTop: true, seed: 1 });
  await saveModel(model, join(runDir, 'best'));
  model.dispose();
  const config = { command: 'pretrain', backbone: 'shallownetv3', inputSize: 32, fit: 'squash' };
  await writeFile(join(runDir, RUN_INFO_FILE), JSON.stringify({ backbone: 'shallownetv3', status: 'finished', config }));
  image = join(dir, 'face.png');
  await sharp(Buffer.alloc(32 * 32 * 3, 90), { raw: { width: 32, height: 32, channels: 3 } }).png().toFile(image);
  await mkdir(join(dir, 'empty'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('fdft predict exits 0 when some input was scored, and reports the skipped ones', async () => {
  const r = await predict([image, join(dir, 'missing.jpg')]);
  assert.match(r.stdout, /face\.png +\d\.\d{4} +(real|fake)/);
  assert.match(r.stdout, /missing\.jpg +- +skipped \(missing: ENOENT\)/);
  assert.match(r.stderr, /1 of 2 file\(s\) could not be used/);
});

test('fdft predict fails with a clear message when nothing could be scored', async () => {
  const failsWith = (pattern: RegExp) => (e: Error & { code?: number; stderr?: string }) => e.code === 1 && pattern.test(e.stderr ?? '');
  await assert.rejects(predict([join(dir, 'missing.jpg')]), failsWith(/NothingScoredError: nothing was scored \(.*missing\.jpg: missing: ENOENT\)/));
  await assert.rejects(predict([join(dir, 'missing.jpg'), join(dir, 'gone.png')]), failsWith(/none of the 2 files could be scored/));
  await assert.rejects(predict([join(dir, 'empty')]), failsWith(/no image files in .*empty/));
});
