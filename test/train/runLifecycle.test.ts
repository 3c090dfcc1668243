/**
 * startRun: a missing --data folder fails before any run directory exists; extra run.json fields
 * (runInfo) are written when a run is created and again when it is resumed.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTrainConfig } from '../../src/cli/trainOptions.ts';
import { DatasetError } from '../../src/data/errors.ts';
import { ProgressReporter } from '../../src/train/progress.ts';
import { readRunInfo, updateRunInfo } from '../../src/train/runDir.ts';
import { startRun } from '../../src/train/runLifecycle.ts';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fdft-lifecycle-'));
  made.push(d);
  return d;
};
const quietReporter = () => new ProgressReporter({ mode: 'quiet' });

test('a missing --data folder fails with a DatasetError before any run directory is made', async () => {
  const work = await fresh();
  const root = join(work, 'checkpoints');
  const config = resolveTrainConfig('pretrain', { backbone: 'shallownetv3', data: join(work, 'absent') });
  await assert.rejects(
    startRun('pretrain', config, { checkpointsRoot: root, reporter: quietReporter(), tensorboard: false }),
    (e: Error) => e instanceof DatasetError && /dataset folder .*absent does not exist/.test(e.message),
  );
  assert.equal(existsSync(root), false, 'no checkpoints folder, so no run directory');
});

test('runInfo fields land in run.json on creation and are rewritten on resume', async () => {
  const work = await fresh();
  const data = join(work, 'faces');
  await mkdir(data);
  const config = resolveTrainConfig('pretrain', { backbone: 'shallownetv3', data });
  const opts = { checkpointsRoot: join(work, 'checkpoints'), reporter: quietReporter(), tensorboard: false };
  const run = await startRun('pretrain', config, { ...opts, runInfo: { finetuneConfig: { M: 3 } } });
  assert.deepEqual((await readRunInfo(run.dir)).finetuneConfig, { M: 3 });
  await updateRunInfo(run.dir, { status: 'interrupted' });
  await startRun('pretrain', config, { ...opts, resumeDir: run.dir, runInfo: { finetuneConfig: { M: 2 } } });
  const info = await readRunInfo(run.dir);
  assert.equal(info.status, 'running');
  assert.deepEqual(info.finetuneConfig, { M: 2 });
});
