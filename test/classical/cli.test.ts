import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';

const run = promisify(execFile);
const fdft = (args: string[]) => run(process.execPath, ['bin/fdft.js', '--backend', 'wasm', ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });

test('CLI: fdft features → fdft classical → fdft classical predict', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-cli-classical-'));
  try {
    const data = join(dir, 'data');
    for (const [cls, v] of [['real', 40], ['fake', 200]] as const) {
      await mkdir(join(data, cls), { recursive: true });
      for (let i = 0; i < 10; i++) {
        const px = Buffer.alloc(24 * 24 * 3, 0);
        for (let k = 0; k < px.length; k++) px[k] = (v + ((k * (i + 3)) % 50)) & 255;
        await sharp(px, { raw: { width: 24, height: 24, channels: 3 } }).png().toFile(join(data, cls, `p${i % 5}_${i}.png`));
      }
    }
    const feat = join(dir, 'f.feat');
    const f = await fdft(['features', '--extractor', 'backbone:shallownetv3', '--input-size', '32', '--data', data, '--out', feat, '--group-by', '(p\\d)_', '--cache-dir', join(dir, 'cache'), '--json', '--quiet']);
    const info = JSON.parse(f.stdout.trim().split('\n').pop()!);
    assert.equal(info.rows, 20);
    const out = join(dir, 'report');
    const grid = JSON.stringify({ lr: { C: [0.1, 1] } });
    const c = await fdft(['classical', '--features', feat, '--classifiers', 'lr', '--grid', grid, '--folds', '2', '--holdout', '0', '--no-charts', '--out', out, '--quiet']);
    assert.match(c.stdout, /\| f \| Logistic regression \| C=/);
    assert.ok((await readdir(out)).includes('model-f-lr.json'));
    const p = await fdft(['classical', 'predict', '--model', join(out, 'model-f-lr.json'), join(data, 'fake'), '--json', '--quiet']);
    const preds = JSON.parse(p.stdout.trim().split('\n').pop()!);
    assert.equal(preds.predictions.length, 10);
    assert.ok(preds.predictions.every((q: { label?: string }) => q.label === 'fake' || q.label === 'real'));
    // The text table states the verdict rule; a missing file beside a scored one is skipped, exit 0.
    const missing = join(dir, 'missing.jpg');
    const text = await fdft(['classical', 'predict', '--model', join(out, 'model-f-lr.json'), join(data, 'fake', 'p0_0.png'), missing, '--quiet']);
    assert.match(text.stdout, /^verdict: fake when the lr decision value is ≥ -?\d+\.\d{4} \(the threshold tuned for f1\), i\.e\. when p\(fake\) ≥ \d\.\d{4}$/m);
    assert.match(text.stdout, /missing\.jpg +- +- +skipped \(missing: ENOENT\)/);
    // Nothing scored at all: a named error and a non-zero exit.
    await assert.rejects(
      fdft(['classical', 'predict', '--model', join(out, 'model-f-lr.json'), missing, '--quiet']),
      (e: Error & { code?: number; stderr?: string }) => e.code === 1 && /NothingScoredError: nothing was scored \(.*missing\.jpg: missing: ENOENT\)/.test(e.stderr ?? ''),
    );
    assert.ok(JSON.parse(await readFile(join(out, 'results.json'), 'utf8')).runs[0].leakage[0].status === 'clean');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
