import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applyTransform,
  Augmenter,
  expectedCutoutFraction,
  NO_AUGMENTATION,
  PAPER_AUGMENTATION,
  sampleCutout,
  sampleTransform,
} from '../../src/data/augment.ts';
import { contactSheetPng } from '../../src/data/contactSheet.ts';
import { rngFor } from '../../src/data/random.ts';
import { patternRgb } from './badCorpus.ts';

const S = 32;

test('Cutout: zeroed fraction matches the analytic expectation for (α, β)', () => {
  for (const [alpha, beta] of [[3, 5], [1, 2], [3, 10]] as const) {
    const aug = new Augmenter({ ...NO_AUGMENTATION, cutoutAlpha: alpha, cutoutBeta: beta });
    const src = patternRgb(S, S); // every value ≥ 20: only Cutout makes zeros
    const n = 3000;
    const out = new Float32Array(S * S * 3);
    const rng = rngFor('cutout-test', alpha, beta);
    let zeros = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      aug.augmentInto(src, 0, S, rng, out, 0);
      let z = 0;
      for (let p = 0; p < S * S; p++) if (out[p * 3] === 0 && out[p * 3 + 1] === 0 && out[p * 3 + 2] === 0) z++;
      zeros += z / (S * S);
      sumSq += (z / (S * S)) ** 2;
    }
    const mean = zeros / n;
    const sd = Math.sqrt(sumSq / n - mean * mean);
    const expected = expectedCutoutFraction(S, alpha, beta);
    assert.ok(Math.abs(mean - expected) < 4 * (sd / Math.sqrt(n)) + 1e-3, `α=${alpha} β=${beta}: measured ${mean.toFixed(4)} vs expected ${expected.toFixed(4)}`);
  }
});

test('Cutout boxes follow the authors’ code: n ≤ α, side 4k (k ≤ β) before clipping', () => {
  const rng = rngFor('boxes');
  const counts = new Array(4).fill(0);
  for (let i = 0; i < 4000; i++) {
    const cuts = sampleCutout(rng, 64, 64, 3, 5);
    counts[cuts.length]++;
    for (const c of cuts) {
      assert.ok(c.y1 >= 0 && c.y2 <= 64 && c.x1 >= 0 && c.x2 <= 64 && c.y2 > c.y1 && c.x2 > c.x1);
      assert.ok(c.y2 - c.y1 <= 20 && c.x2 - c.x1 <= 20);
      if (c.y1 > 0 && c.y2 < 64) assert.equal((c.y2 - c.y1) % 4, 0);
    }
  }
  for (const k of counts) assert.ok(Math.abs(k / 4000 - 0.25) < 0.04, `n uniform in 0..3: ${counts}`);
});

test('flips ~50 %, translation within ±2 px, same seed → identical batch', () => {
  const o = { ...PAPER_AUGMENTATION };
  const rng = rngFor('params');
  let flips = 0;
  const N = 4000;
  let maxShift = 0;
  for (let i = 0; i < N; i++) {
    const t = sampleTransform(rng, 64, o);
    if (t.flip) flips++;
    maxShift = Math.max(maxShift, Math.abs(t.tx), Math.abs(t.ty));
    assert.ok(t.zx >= 0.8 && t.zx <= 1.2 && t.zy >= 0.8 && t.zy <= 1.2 && Math.abs(t.theta) <= 0.2);
  }
  assert.ok(Math.abs(flips / N - 0.5) < 0.03, `flip rate ${flips / N}`);
  assert.ok(maxShift <= 2 && maxShift > 1.9);

  // A single bright pixel moves by at most 2 px under translation alone (both samplings).
  for (const interpolation of ['bilinear', 'nearest'] as const) {
    const only = new Augmenter({ ...NO_AUGMENTATION, translate: 2, interpolation });
    const src = new Uint8Array(S * S * 3);
    const cx = 15;
    const cy = 12;
    src.fill(255, (cy * S + cx) * 3, (cy * S + cx) * 3 + 3);
    const out = new Float32Array(S * S * 3);
    const r2 = rngFor('shift', interpolation);
    for (let i = 0; i < 300; i++) {
      const t = only.augmentInto(src, 0, S, r2, out, 0);
      let m = 0;
      let mx = 0;
      let my = 0;
      for (let p = 0; p < S * S; p++) {
        m += out[p * 3]!;
        mx += out[p * 3]! * (p % S);
        my += out[p * 3]! * Math.floor(p / S);
      }
      // Output pixel x samples input x + tx: the bright pixel appears at cx - tx (rounded when nearest).
      const tol = interpolation === 'bilinear' ? 1e-3 : 0.5 + 1e-9;
      assert.ok(Math.abs(mx / m - (cx - t.tx)) <= tol && Math.abs(my / m - (cy - t.ty)) <= tol, `${interpolation} shift`);
      assert.ok(Math.abs(mx / m - cx) <= 2 + 1e-9 && Math.abs(my / m - cy) <= 2 + 1e-9);
    }
  }

  const images = Array.from({ length: 8 }, (_, i) => patternRgb(S, S, i));
  const a = new Augmenter().augmentBatch(images, S, rngFor(1, 'augment', 3, 4));
  const b = new Augmenter().augmentBatch(images, S, rngFor(1, 'augment', 3, 4));
  const c = new Augmenter().augmentBatch(images, S, rngFor(1, 'augment', 3, 5));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('a horizontal flip mirrors the image exactly; no augmentation = rescale only', () => {
  const src = patternRgb(S, S, 5);
  const out = new Float32Array(S * S * 3);
  applyTransform(src, 0, S, { theta: 0, tx: 0, ty: 0, zx: 1, zy: 1, flip: true, cuts: [] }, out, 0);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
    assert.ok(Math.abs(out[(y * S + x) * 3 + c]! - src[(y * S + (S - 1 - x)) * 3 + c]! / 255) < 1e-6);
  }
  const plain = new Augmenter(NO_AUGMENTATION).augmentBatch([src], S, rngFor(0));
  for (let i = 0; i < src.length; i++) assert.ok(Math.abs(plain[i]! - src[i]! / 255) < 1e-7);
  // Values stay in [0, 1] under the paper's augmentation, with 'nearest' fill (no zeros from the border).
  const aug = new Augmenter({ ...PAPER_AUGMENTATION, cutoutAlpha: 0, zoom: 0.2 }).augmentBatch([src], S, rngFor(9));
  assert.ok(aug.every((v) => v >= 20 / 255 - 1e-6 && v <= 1));
});

test('a grid PNG of augmented samples renders', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-augment-'));
  try {
    const { renderSyntheticSample } = await import('../../src/data/synthetic/synthesize.ts');
    const base = [0, 1, 2, 3].map((i) => renderSyntheticSample(0, (i % 2) as 0 | 1, i, 64).rgb);
    const images: Float32Array[] = [];
    const aug = new Augmenter(PAPER_AUGMENTATION);
    for (let k = 0; k < 6; k++) for (const img of base) images.push(aug.augmentBatch([img], 64, rngFor('grid', k, images.length)));
    const png = await contactSheetPng(images, 64, { cols: 4 });
    const file = join(dir, 'augmented.png');
    await writeFile(file, png);
    assert.ok((await stat(file)).size > 1000);
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('invalid augmentation options are named errors', () => {
  assert.throws(() => new Augmenter({ zoom: 1.5 }), (e: Error) => e.name === 'DataOptionsError');
  assert.throws(() => new Augmenter({ cutoutBeta: 0 }), (e: Error) => e.name === 'DataOptionsError');
  assert.throws(() => new Augmenter({ translate: -1 }), (e: Error) => e.name === 'DataOptionsError');
});
