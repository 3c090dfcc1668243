// Integration test on the real face sets in ../shared/data (skipped where the folder is absent):
// every image there holds one face, so the crops written / images examined is the detector's recall.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/index.ts';
import { parseCsvRecords } from '../../src/prepare/csv.ts';
import { prepareDataset } from '../../src/prepare/prepareDataset.ts';

const SHARED = resolve('../shared/data');
const SETS = ['gan', 'faceswap'];
const PER_SET = 100; // 50 real + 50 fake of each set
const present = SETS.every((s) => existsSync(join(SHARED, s, 'real')) && existsSync(join(SHARED, s, 'fake')));

for (const set of SETS) {
  test(`${set}: BlazeFace recall >= 95 % on ${PER_SET} images, 64x64 crops`, { skip: present ? false : `no ${SHARED} (real face sets absent)` }, async () => {
    await initEngine('wasm', () => {});
    const dir = await mkdtemp(join(tmpdir(), `fdft-prepare-${set}-`));
    try {
      // Symlinks, not copies, of the first images of each class (sorted names: a fixed sample).
      for (const cls of ['real', 'fake']) {
        await mkdir(join(dir, 'in', cls), { recursive: true });
        const names = readdirSync(join(SHARED, set, cls)).filter((n) => /\.jpe?g$/i.test(n)).sort().slice(0, PER_SET / 2);
        for (const n of names) await symlink(join(SHARED, set, cls, n), join(dir, 'in', cls, n));
      }
      const s = await prepareDataset({ input: join(dir, 'in'), out: join(dir, 'out'), labelsFromPath: true, size: 64 });
      assert.equal(s.images, PER_SET);
      assert.equal(s.failures.length, 0);
      const recall = s.faces / s.images;
      console.log(`# ${set}: recall ${(100 * recall).toFixed(1)} % (${s.faces}/${s.images}), skipped ${JSON.stringify(s.skipped)}`);
      assert.ok(recall >= 0.95, `recall ${recall}`);
      assert.equal(s.byLabel.real + s.byLabel.fake, s.faces);
      const rows = parseCsvRecords(await readFile(join(dir, 'out', 'manifest.csv'), 'utf8'));
      assert.equal(rows.length, s.faces);
      for (const r of rows.slice(0, 20)) {
        const m = await sharp(join(dir, 'out', r.file)).metadata();
        assert.deepEqual([m.width, m.height], [64, 64]);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
}
