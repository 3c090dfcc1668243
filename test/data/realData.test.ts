// Integration test on the real face sets in ../shared/data (never copied into the repo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { discoverDataset } from '../../src/data/discover.ts';
import { loadImages } from '../../src/data/loader.ts';
import { rescaleInto } from '../../src/data/augment.ts';

const SHARED = resolve('../shared/data');
const SETS = ['gan', 'faceswap'] as const;
const present = SETS.every((s) => existsSync(join(SHARED, s, 'real')) && existsSync(join(SHARED, s, 'fake')));

for (const name of SETS) {
  test(`shared data: ${name} splits with the expected counts and decodes to 64x64x3 in [0, 1]`, async (t) => {
    if (!present) return t.skip(`${SHARED}/{gan,faceswap}/{real,fake} not found: real-data integration test skipped`);
    const idx = await discoverDataset(join(SHARED, name), { seed: 0 });
    assert.equal(idx.layout, 'flat');
    const c = idx.summary.splits;
    // 800 + 800: val/test 10 % per class, finetune 20 % (balanced), train the rest.
    assert.deepEqual([c.train.real, c.train.fake, c.val.real, c.val.fake, c.test.real, c.test.fake, c.finetune.real, c.finetune.fake], [480, 480, 80, 80, 80, 80, 160, 160]);
    assert.equal(idx.skipped.length, 0);
    // Decode the val and test splits (320 images; the train split decodes the same way).
    const cacheDir = await mkdtemp(join(tmpdir(), 'fdft-real-'));
    try {
      const set = await loadImages([...idx.splits.val, ...idx.splits.test], { size: 64, cacheDir });
      assert.equal(set.skipped.length, 0, JSON.stringify(set.skipped.slice(0, 3)));
      assert.equal(set.samples.length, 320);
      assert.equal(set.images.length, 320 * 64 * 64 * 3);
      const xs = new Float32Array(set.images.length);
      rescaleInto(set.images, 0, set.images.length, xs, 0);
      let min = Infinity;
      let max = -Infinity;
      for (const v of xs) {
        if (v < min) min = v;
        if (v > max) max = v;
      }
      assert.ok(min >= 0 && max <= 1 && max > 0.9 && min < 0.1, `range ${min}..${max}`);
      assert.equal(set.labels.filter((l) => l === 1).length, 160);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
}
