/**
 * The run lookups of `fdft train`: a finished pretrain of the same split is reused; an unfinished
 * run of exactly the same config is found by status (interrupted: resume it; running: maybe live).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveTrainConfig } from '../../src/cli/trainOptions.ts';
import { findFinishedPretrain, findUnfinishedRuns } from '../../src/train/findPretrain.ts';
import { createRunDir, markRunFinished, updateRunInfo } from '../../src/train/runDir.ts';
import type { TrainConfig } from '../../src/train/config.ts';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

async function runOf(root: string, kind: string, config: TrainConfig, second: number): Promise<string> {
  return createRunDir({ root, backbone: config.backbone, dataset: config.datasetName, config, kind, now: new Date(2024, 0, 1, 12, 0, second) });
}

test('findUnfinishedRuns: the newest interrupted and running runs of exactly this config and kind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fdft-find-'));
  made.push(root);
  const pre = resolveTrainConfig('pretrain', { backbone: 'shallownetv3', preset: 'quick' });
  const otherSeed = resolveTrainConfig('pretrain', { backbone: 'shallownetv3', preset: 'quick', seed: 2 });
  assert.deepEqual(await findUnfinishedRuns(root, 'pretrain', pre), { interrupted: undefined, running: undefined });

  const olderInterrupted = await runOf(root, 'pretrain', pre, 1);
  await updateRunInfo(olderInterrupted, { status: 'interrupted' });
  const newerInterrupted = await runOf(root, 'pretrain', pre, 2);
  await updateRunInfo(newerInterrupted, { status: 'interrupted' });
  const running = await runOf(root, 'pretrain', pre, 3);
  await markRunFinished(await runOf(root, 'pretrain', pre, 4));
  await updateRunInfo(await runOf(root, 'pretrain', otherSeed, 5), { status: 'interrupted' });
  await updateRunInfo(await runOf(root, 'train', pre, 6), { status: 'interrupted' });

  const found = await findUnfinishedRuns(root, 'pretrain', pre);
  assert.equal(found.interrupted?.dir, newerInterrupted);
  assert.equal(found.running?.dir, running);
  assert.equal((await findUnfinishedRuns(root, 'pretrain', otherSeed)).running, undefined, 'another seed is another config');
  // A finished pretrain of the same split is what `fdft train` reuses first.
  const train = resolveTrainConfig('train', { backbone: 'shallownetv3', preset: 'quick' });
  assert.equal((await findFinishedPretrain(root, train))?.status, 'finished');
});
