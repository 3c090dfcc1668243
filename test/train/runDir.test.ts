import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import {
  canonicalJson,
  configHash,
  createRunDir,
  datasetName,
  findRuns,
  formatRunTimestamp,
  markRunFinished,
  readRunInfo,
  resolveRunDir,
  RunDirError,
} from '../../src/train/runDir.ts';

const made: string[] = [];
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fdft-runs-'));
  made.push(d);
  return d;
};
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

test('run directory name: timestamp, backbone, dataset, config hash; run.json describes the run', async () => {
  const root = await fresh();
  const now = new Date(2024, 2, 5, 7, 8, 9); // local time
  const config = { lr: 0.3, epochs: 300, seed: 1, augment: { cutout: [3, 5] } };
  const dir = await createRunDir({ root, backbone: 'xception', dataset: 'gan', config, kind: 'train', now, extra: { datasetSummary: { n: 4 } } });
  const hash = configHash(config);
  assert.match(hash, /^[0-9a-f]{8}$/);
  assert.equal(basename(dir), `20240305-070809-xception-gan-${hash}`);
  const info = JSON.parse(await readFile(join(dir, 'run.json'), 'utf8'));
  assert.deepEqual(info, {
    datasetSummary: { n: 4 },
    name: basename(dir),
    kind: 'train',
    backbone: 'xception',
    dataset: 'gan',
    configHash: hash,
    config,
    createdAt: now.toISOString(),
    status: 'running',
  });
  // Same second, same config: a second directory, not a clash.
  const again = await createRunDir({ root, backbone: 'xception', dataset: 'gan', config, now });
  assert.equal(basename(again), `20240305-070809-xception-gan-${hash}-2`);
});

test('the config hash ignores key order and undefined members but not values', () => {
  const a = { lr: 0.3, nested: { b: 1, a: 2 }, dropped: undefined };
  const b = { nested: { a: 2, b: 1 }, lr: 0.3 };
  assert.equal(canonicalJson(a), '{"lr":0.3,"nested":{"a":2,"b":1}}');
  assert.equal(configHash(a), configHash(b));
  assert.notEqual(configHash(a), configHash({ ...b, lr: 0.1 }));
  assert.equal(formatRunTimestamp(new Date(1999, 11, 31, 23, 59, 58)), '19991231-235958');
  assert.equal(datasetName(undefined), 'synthetic');
  assert.equal(datasetName('../shared/data/face swap/'), 'face_swap');
});

test('findRuns locates finished runs by kind, backbone and dataset, newest first', async () => {
  const root = await fresh();
  const mk = (backbone: string, dataset: string, kind: string, minute: number) =>
    createRunDir({ root, backbone, dataset, kind, config: { minute }, now: new Date(2024, 0, 1, 12, minute, 0) });
  const old = await mk('xception', 'gan', 'pretrain', 1);
  const newer = await mk('xception', 'gan', 'pretrain', 2);
  const unfinished = await mk('xception', 'gan', 'pretrain', 3);
  await mk('squeezenet', 'gan', 'pretrain', 4);
  const train = await mk('xception', 'gan', 'train', 5);
  await markRunFinished(old);
  await markRunFinished(newer, { testAuroc: 0.9 });
  await markRunFinished(train);
  // Junk the search must skip: a temp dir, a folder without run.json, a torn run.json, a file.
  await mkdir(join(root, 'checkpoint.tmp-123'));
  await mkdir(join(root, 'notes'));
  await mkdir(join(root, 'torn'));
  await writeFile(join(root, 'torn', 'run.json'), '{"backbone": "xcep');
  await writeFile(join(root, 'README'), 'hi');

  const found = await findRuns(root, { kind: 'pretrain', backbone: 'xception', dataset: 'gan', status: 'finished' });
  assert.deepEqual(found.map((r) => r.dir), [newer, old]);
  assert.equal(found[0]!.testAuroc, 0.9);
  assert.ok(found[0]!.finishedAt);
  assert.equal((await findRuns(root)).length, 5);
  const running = await findRuns(root, (r) => r.status === 'running');
  assert.deepEqual(running.map((r) => [r.backbone, r.config]), [['squeezenet', { minute: 4 }], ['xception', { minute: 3 }]]);
  assert.equal(running[1]!.dir, unfinished);
  assert.deepEqual(await findRuns(join(root, 'absent')), []);
  assert.equal((await readRunInfo(newer)).status, 'finished');
  await assert.rejects(readRunInfo(join(root, 'notes')), RunDirError);
});

test('resolveRunDir accepts a path, a run name or a unique prefix', async () => {
  const root = await fresh();
  const a = await createRunDir({ root, backbone: 'resnetv2', dataset: 'gan', config: { a: 1 }, now: new Date(2024, 0, 1, 0, 0, 0) });
  await createRunDir({ root, backbone: 'resnetv2', dataset: 'gan', config: { a: 2 }, now: new Date(2024, 0, 2, 0, 0, 0) });
  assert.equal(await resolveRunDir(a, root), a);
  assert.equal(await resolveRunDir(basename(a), root), a);
  assert.equal(await resolveRunDir('20240101', root), a);
  await assert.rejects(resolveRunDir('2024', root), (e: Error) => e instanceof RunDirError && /matches 2 runs/.test(e.message));
  await assert.rejects(resolveRunDir('nope', root), RunDirError);
});
