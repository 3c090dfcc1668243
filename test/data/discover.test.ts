import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverDataset } from '../../src/data/discover.ts';
import { splitSamples, splitTargets } from '../../src/data/split.ts';
import { formatDatasetSummary, writeDatasetSummary } from '../../src/data/summary.ts';
import type { Sample } from '../../src/data/types.ts';
import { writeBadCorpus, writeJpeg } from './badCorpus.ts';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fdft-discover-'));
}

/** ROOT/{real,fake}/ with n files each (empty .jpg files suffice: discovery does not decode). */
async function flatDataset(root: string, nReal: number, nFake: number, name = (label: string, i: number) => `${label}_${i}.jpg`) {
  for (const [label, n] of [['real', nReal], ['fake', nFake]] as const) {
    await mkdir(join(root, label), { recursive: true });
    for (let i = 0; i < n; i++) {
      const file = join(root, label, name(label, i));
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, '');
    }
  }
}

test('flat layout: seeded stratified split with the default proportions', async () => {
  const root = await tmp();
  try {
    await flatDataset(root, 100, 80);
    const a = await discoverDataset(root, { seed: 7 });
    assert.equal(a.layout, 'flat');
    const c = a.summary.splits;
    // finetune 20 % of the smaller class, balanced; val/test 10 % per class; the rest train.
    assert.deepEqual([c.finetune.real, c.finetune.fake], [16, 16]);
    assert.deepEqual([c.val.real, c.val.fake, c.test.real, c.test.fake], [10, 8, 10, 8]);
    assert.deepEqual([c.train.real, c.train.fake], [64, 48]);
    // A partition: every file exactly once.
    const all = Object.values(a.splits).flat().map((s) => s.path);
    assert.equal(new Set(all).size, 180);
    // Labels follow the folders: real = 0, fake = 1.
    for (const s of Object.values(a.splits).flat()) assert.equal(s.label, s.path.includes('/fake/') ? 1 : 0);
    // Same seed, same split; another seed, another split.
    const b = await discoverDataset(root, { seed: 7 });
    assert.deepEqual(b.splits, a.splits);
    const other = await discoverDataset(root, { seed: 8 });
    assert.notDeepEqual(other.splits.test, a.splits.test);
    // Counts instead of fractions.
    const d = await discoverDataset(root, { seed: 1, split: { val: 5, test: 6, finetune: 0.5, finetuneMax: 30 } });
    assert.deepEqual([d.summary.splits.val.real, d.summary.splits.test.fake, d.summary.splits.finetune.real], [5, 6, 30]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('--group-by: no identity in two partitions', async () => {
  const root = await tmp();
  try {
    // 40 identities, 3–7 images each, in both classes.
    await flatDataset(root, 200, 200, (label, i) => `id${String(i % 40).padStart(2, '0')}/${label}_${i}.jpg`);
    const idx = await discoverDataset(root, { seed: 3, groupBy: '^(?:real|fake)/(id\\d+)/' });
    const where = new Map<string, string>();
    for (const [name, samples] of Object.entries(idx.splits)) {
      for (const s of samples) {
        assert.ok(s.group?.startsWith('id'), `group of ${s.path}`);
        const prev = where.get(s.group!);
        assert.ok(prev === undefined || prev === name, `${s.group} in ${prev} and ${name}`);
        where.set(s.group!, name);
      }
    }
    assert.equal(where.size, 40);
    for (const name of ['train', 'val', 'test', 'finetune'] as const) assert.ok(idx.splits[name].length > 0, `${name} empty`);
    assert.equal(idx.summary.splits.train.groups! + idx.summary.splits.val.groups! + idx.summary.splits.test.groups! + idx.summary.splits.finetune.groups!, 40);
    assert.equal(idx.summary.ungrouped, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('pre-split layout: folders are the splits; finetune sampled from train when absent', async () => {
  const root = await tmp();
  try {
    await flatDataset(join(root, 'train'), 30, 20);
    await flatDataset(join(root, 'validation'), 5, 5);
    await flatDataset(join(root, 'test'), 6, 4);
    const idx = await discoverDataset(root, { seed: 1, split: { finetuneMax: 15 } });
    assert.equal(idx.layout, 'pre-split');
    const c = idx.summary.splits;
    assert.deepEqual([c.train.total, c.val.total, c.test.total], [50, 10, 10]);
    assert.deepEqual([c.finetune.real, c.finetune.fake], [15, 15]);
    assert.equal(idx.summary.finetuneSource, 'sampled-from-train');
    const train = new Set(idx.splits.train.map((s) => s.path));
    assert.ok(idx.splits.finetune.every((s) => train.has(s.path)));
    await flatDataset(join(root, 'finetune'), 4, 4);
    const idx2 = await discoverDataset(root);
    assert.equal(idx2.summary.finetuneSource, 'folder');
    assert.equal(idx2.summary.splits.finetune.total, 8);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('bad inputs are counted in the summary; a class with nothing usable stops with the folder named', async () => {
  const root = await tmp();
  try {
    await writeBadCorpus(join(root, 'real'), 12);
    await mkdir(join(root, 'fake'));
    await writeFile(join(root, 'fake', 'readme.txt'), 'no images here');
    await assert.rejects(discoverDataset(root), (e: Error) => e.name === 'DatasetError' && e.message.includes(join(root, 'fake')));
    for (let i = 0; i < 12; i++) await writeJpeg(join(root, 'fake', `f${i}.jpg`), 40, 40, i);
    const idx = await discoverDataset(root);
    assert.deepEqual(idx.summary.skipped.byReason, { 'broken-symlink': 1, 'symlink-loop': 1, 'unsupported-extension': 2 });
    const text = formatDatasetSummary(idx.summary);
    assert.match(text, /skipped 4 file\(s\)/);
    assert.match(text, /symlink-loop/);
    const out = join(root, 'run', 'dataset.json');
    await writeDatasetSummary(out, idx.summary);
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), JSON.parse(JSON.stringify(idx.summary)));
  } finally {
    await chmod(join(root, 'real', 'unreadable.jpg'), 0o644).catch(() => {});
    await rm(root, { recursive: true, force: true });
  }
});

test('no recognised layout, missing folder: DatasetError', async () => {
  const root = await tmp();
  try {
    await assert.rejects(discoverDataset(join(root, 'nope')), (e: Error) => e.name === 'DatasetError' && /does not exist/.test(e.message));
    await mkdir(join(root, 'cats'));
    await assert.rejects(discoverDataset(root), (e: Error) => e.name === 'DatasetError' && /no recognised layout/.test(e.message));
    await assert.rejects(discoverDataset(root, { groupBy: '(' }), (e: Error) => e.name === 'DataOptionsError');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('splitTargets: sizes must leave training images', () => {
  assert.throws(() => splitTargets([10, 10], { val: 0.5, test: 0.5 }), (e: Error) => e.name === 'DataOptionsError');
  const t = splitTargets([3000, 3000], {});
  assert.deepEqual(t.finetune, [600, 600]);
  assert.deepEqual(splitTargets([20000, 8000], {}).finetune, [1000, 1000]);
});

test('splitSamples ignores input order', () => {
  const samples: Sample[] = Array.from({ length: 50 }, (_, i) => ({ path: `/d/${i % 2 ? 'fake' : 'real'}/${i}.png`, label: (i % 2) as 0 | 1 }));
  const a = splitSamples(samples, {}, 5);
  const b = splitSamples([...samples].reverse(), {}, 5);
  assert.deepEqual(a, b);
});
