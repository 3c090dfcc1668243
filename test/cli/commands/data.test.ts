import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { discoverDataset } from '../../../src/data/discover.ts';
import { resolveTrainConfig } from '../../../src/cli/trainOptions.ts';

const run = promisify(execFile);
const fdft = (args: string[]) => run(process.execPath, ['bin/fdft.js', ...args], { encoding: 'utf8' });

test("fdft data splits a flat set with fdft train's default seed", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-cli-data-'));
  try {
    for (const [cls, v] of [['real', 40], ['fake', 200]] as const) {
      await mkdir(join(dir, cls), { recursive: true });
      for (let i = 0; i < 12; i++) {
        await sharp(Buffer.alloc(8 * 8 * 3, (v + i) & 255), { raw: { width: 8, height: 8, channels: 3 } })
          .png()
          .toFile(join(dir, cls, `img${i}.png`));
      }
    }
    const trainSeed = resolveTrainConfig('train', { data: dir }).seed;
    const summary = JSON.parse((await fdft(['data', '--data', dir, '--json'])).stdout);
    assert.equal(summary.seed, trainSeed);
    // What a run's data loader discovers (src/train/runData.ts: the config's seed, no other split options).
    assert.deepEqual(summary, (await discoverDataset(dir, { seed: trainSeed })).summary);
    const text = (await fdft(['data', '--data', dir])).stdout;
    assert.match(text, new RegExp(`\\(flat, split seed ${trainSeed}\\)`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
