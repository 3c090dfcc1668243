import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { discoverDataset } from '../../src/data/discover.ts';
import { loadImages } from '../../src/data/loader.ts';
import { defaultDatasetDir, defaultDatasetPath } from '../../src/data/synthetic/defaultDataset.ts';
import { renderSyntheticSample, synthesizeDataset, SYNTHETIC_MANIFEST } from '../../src/data/synthetic/synthesize.ts';

test('renderSyntheticSample is a pure function of (seed, label, index)', () => {
  const a = renderSyntheticSample(3, 1, 17, 48);
  const b = renderSyntheticSample(3, 1, 17, 48);
  const c = renderSyntheticSample(3, 1, 18, 48);
  const d = renderSyntheticSample(4, 1, 17, 48);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.rgb, c.rgb);
  assert.notDeepEqual(a.rgb, d.rgb);
  assert.equal(a.rgb.length, 48 * 48 * 3);
  assert.equal(a.label, 1);
  assert.notEqual(a.kind, 'real');
  assert.equal(renderSyntheticSample(3, 0, 17, 48).kind, 'real');
});

test('fakes carry forgery traces: kinds mix, GAN fakes have more Nyquist (checkerboard) energy than reals', () => {
  const kinds: Record<string, number> = {};
  const nyquist = (rgb: Uint8Array, S: number) => {
    let e = 0;
    for (let by = 0; by < S; by += 8) for (let bx = 0; bx < S; bx += 8) {
      let a = 0;
      for (let y = by; y < by + 8; y++) for (let x = bx; x < bx + 8; x++) a += rgb[(y * S + x) * 3 + 1]! * ((x + y) % 2 ? 1 : -1);
      e += a * a;
    }
    return e;
  };
  let real = 0;
  let gan = 0;
  let nReal = 0;
  let nGan = 0;
  for (let i = 0; i < 60; i++) {
    const r = renderSyntheticSample(0, 0, i);
    const f = renderSyntheticSample(0, 1, i);
    kinds[f.kind] = (kinds[f.kind] ?? 0) + 1;
    real += nyquist(r.rgb, 64);
    nReal++;
    if (f.kind === 'gan') {
      gan += nyquist(f.rgb, 64);
      nGan++;
    }
  }
  assert.ok(kinds.swap! > 10 && kinds.gan! > 10, JSON.stringify(kinds));
  assert.ok(gan / nGan > 2 * (real / nReal), `GAN ${gan / nGan} vs real ${real / nReal}`);
});

test('synthesizeDataset writes the flat layout (+ manifest) that discoverDataset and loadImages read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-synth-'));
  try {
    const out = join(dir, 'set');
    const r = await synthesizeDataset({ out, count: 16, seed: 5, workers: 2 });
    assert.equal(r.count, 16);
    assert.equal(r.kinds.real, 16);
    assert.equal(r.kinds.swap + r.kinds.gan + r.kinds['swap+gan'], 16);
    assert.equal((await readdir(join(out, 'real'))).length, 16);
    assert.equal((await readdir(join(out, 'fake'))).length, 16);
    const manifest = JSON.parse(await readFile(join(out, SYNTHETIC_MANIFEST), 'utf8'));
    assert.equal(manifest.count, 16);
    assert.equal(manifest.layout, 'flat');
    const idx = await discoverDataset(out, { seed: 1 });
    assert.equal(idx.layout, 'flat');
    assert.equal(idx.skipped.length, 0);
    const set = await loadImages(idx.splits.test, { size: 64 });
    assert.equal(set.samples.length, idx.splits.test.length);
    // The same seed writes the same pixels (one thread or two).
    const again = join(dir, 'again');
    await synthesizeDataset({ out: again, count: 16, seed: 5, workers: 1 });
    assert.deepEqual(await readFile(join(again, 'fake', 'fake_00007.jpg')), await readFile(join(out, 'fake', 'fake_00007.jpg')));
    // An existing non-empty folder is not replaced unless asked.
    await assert.rejects(synthesizeDataset({ out, count: 2 }), (e: Error) => e.name === 'DatasetError');
    // No temp folders left behind.
    assert.deepEqual((await readdir(dir)).sort(), ['again', 'set']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('defaultDatasetDir generates once, then reuses the cached folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fdft-default-'));
  try {
    const logs: string[] = [];
    const opts = { root, count: 12, log: (m: string) => logs.push(m) };
    const dir = await defaultDatasetDir(opts);
    assert.equal(dir, defaultDatasetPath(opts));
    assert.match(dir, /synthetic-v\d+-12x2-seed0-64px$/);
    const t = (await stat(join(dir, SYNTHETIC_MANIFEST))).mtimeMs;
    assert.equal(logs.length, 2);
    assert.equal(await defaultDatasetDir(opts), dir);
    assert.equal(logs.length, 2, 'no second generation');
    assert.equal((await stat(join(dir, SYNTHETIC_MANIFEST))).mtimeMs, t);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
