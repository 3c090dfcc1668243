import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { discoverDataset } from '../../src/data/discover.ts';
import { checkFileTraits, fileTraitsOf, fileTraitWarnings, separation, TRAIT_WARNING_ACCURACY } from '../../src/data/fileTraits.ts';
import { formatDatasetSummary } from '../../src/data/summary.ts';

/** A noisy RGB image (so that encoders keep their tables), seeded by i. */
function noise(w: number, h: number, i: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  let s = 12345 + i * 7919;
  for (let k = 0; k < px.length; k++) px[k] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return px;
}

async function jpeg(quality: number, opts: { w?: number; h?: number; chroma?: '4:2:0' | '4:4:4'; i?: number } = {}): Promise<Buffer> {
  const [w, h] = [opts.w ?? 40, opts.h ?? 32];
  return sharp(noise(w, h, opts.i ?? 0), { raw: { width: w, height: h, channels: 3 } })
    .jpeg({ quality, chromaSubsampling: opts.chroma ?? '4:2:0' })
    .toBuffer();
}

test('JPEG header: quality of the IJG tables that libjpeg writes, pixel size and chroma subsampling', async () => {
  for (const q of [10, 50, 75, 90, 95, 100]) {
    const t = fileTraitsOf(await jpeg(q));
    assert.equal(t.format, 'jpeg');
    assert.equal(t.jpegQuality, q, `quality ${q}`);
    assert.deepEqual([t.width, t.height, t.chroma], [40, 32, '4:2:0']);
  }
  assert.equal(fileTraitsOf(await jpeg(90, { chroma: '4:4:4' })).chroma, '4:4:4');
  const grey = await sharp(noise(16, 16, 1), { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('b-w').jpeg({ quality: 80 }).toBuffer();
  assert.deepEqual([fileTraitsOf(grey).chroma, fileTraitsOf(grey).jpegQuality], ['grey', 80]);
});

test('other containers: PNG and BMP pixel size, WebP/GIF/TIFF by signature, and odd bytes never throw', async () => {
  const png = await sharp(noise(21, 13, 2), { raw: { width: 21, height: 13, channels: 3 } }).png().toBuffer();
  assert.deepEqual(fileTraitsOf(png), { format: 'png', width: 21, height: 13 });
  const webp = await sharp(noise(8, 8, 3), { raw: { width: 8, height: 8, channels: 3 } }).webp().toBuffer();
  assert.equal(fileTraitsOf(webp).format, 'webp');
  const tiff = await sharp(noise(8, 8, 3), { raw: { width: 8, height: 8, channels: 3 } }).tiff().toBuffer();
  assert.equal(fileTraitsOf(tiff).format, 'tiff');
  const bmp = Buffer.alloc(54);
  bmp.write('BM', 0, 'ascii');
  bmp.writeUInt32LE(40, 14); // BITMAPINFOHEADER
  bmp.writeUInt32LE(30, 18);
  bmp.writeInt32LE(-20, 22); // top-down BMP: negative height
  assert.deepEqual(fileTraitsOf(bmp), { format: 'bmp', width: 30, height: 20 });
  // Truncated JPEG headers, garbage and empty input: a format at most, no exception.
  const full = await jpeg(90);
  for (const n of [2, 3, 10, 40, 200]) assert.equal(fileTraitsOf(full.subarray(0, n)).format, 'jpeg');
  assert.deepEqual(fileTraitsOf(Buffer.from('not an image at all')), { format: 'other' });
  assert.deepEqual(fileTraitsOf(new Uint8Array(0)), { format: 'other' });
  assert.equal(fileTraitsOf(full.subarray(0, 30)).jpegQuality, undefined);
});

test('separation: balanced accuracy of the best per-value rule', () => {
  assert.equal(separation(['a', 'a', 'a'], ['b', 'b', 'b']), 1);
  assert.equal(separation(['a', 'a', 'a'], ['a', 'a', 'a']), 0.5);
  // real: 3 a + 1 b; fake: 1 a + 3 b → a→real (0.75), b→fake (0.75).
  assert.equal(separation(['a', 'a', 'a', 'b'], ['a', 'b', 'b', 'b']), 0.75);
  // Unequal class sizes are balanced: every real 'x', fake half 'x' half 'y' → (1 + 0.5) / 2.
  assert.equal(separation(['x', 'x'], ['x', 'x', 'y', 'y']), 0.75);
  // A missing value (PNG has no JPEG quality) is a value of its own.
  assert.equal(separation([undefined, undefined, undefined], ['q90', 'q90', 'q90']), 1);
  assert.equal(separation([], ['a']), 0.5);
  // A different value per file says nothing (pooled as rare), but a common value still does.
  const unique = (p: string, n: number) => Array.from({ length: n }, (_, i) => `${p}${i}`);
  assert.equal(separation(unique('r', 50), unique('f', 50)), 0.5);
  assert.equal(separation(unique('r', 50), Array(50).fill('256x256')), 1);
});

/** ROOT/{real,fake}/ with n JPEGs each, at the given quality per class. */
async function dataset(root: string, n: number, real: (i: number) => Promise<Buffer>, fake: (i: number) => Promise<Buffer>): Promise<void> {
  for (const [label, make] of [['real', real], ['fake', fake]] as const) {
    await mkdir(join(root, label), { recursive: true });
    for (let i = 0; i < n; i++) await writeFile(join(root, label, `${label}_${i}.${(await make(i))[0] === 0x89 ? 'png' : 'jpg'}`), await make(i));
  }
}

test('a dataset whose classes differ in JPEG quality gets a named warning; one stored alike gets none', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fdft-traits-'));
  try {
    await dataset(join(root, 'biased'), 12, (i) => jpeg(90, { i }), (i) => jpeg(95, { i: i + 100 }));
    const biased = await discoverDataset(join(root, 'biased'), { seed: 1 });
    const top = biased.summary.fileTraits!.traits[0]!;
    assert.deepEqual([top.trait, top.balancedAccuracy, top.real, top.fake], ['jpegQuality', 1, 'q90 12', 'q95 12']);
    assert.deepEqual(biased.summary.fileTraits!.inspected, { real: 12, fake: 12 });
    const warning = biased.summary.warnings.find((w) => w.includes('JPEG quality'));
    assert.ok(warning, biased.summary.warnings.join('\n'));
    assert.match(warning, /real: q90 12; fake: q95 12/);
    assert.match(formatDatasetSummary(biased.summary, { fileTraits: true }), /jpegQuality\s+100 %\s+real: q90 12\s+fake: q95 12/);
    assert.doesNotMatch(formatDatasetSummary(biased.summary), /^file traits/m);

    await dataset(join(root, 'alike'), 12, (i) => jpeg(90, { i }), (i) => jpeg(90, { i: i + 100 }));
    const alike = await discoverDataset(join(root, 'alike'), { seed: 1 });
    assert.ok(alike.summary.fileTraits!.traits.every((t) => t.balancedAccuracy === 0.5));
    assert.deepEqual(alike.summary.warnings, []);

    // PNG against JPEG: the format warns, and so do the JPEG-only traits (a PNG has none).
    const pngOf = (i: number) => sharp(noise(40, 32, i), { raw: { width: 40, height: 32, channels: 3 } }).png().toBuffer();
    await dataset(join(root, 'format'), 6, (i) => jpeg(90, { i }), pngOf);
    const format = await discoverDataset(join(root, 'format'), { seed: 1 });
    const warned = format.summary.fileTraits!.traits.filter((t) => t.balancedAccuracy >= TRAIT_WARNING_ACCURACY).map((t) => t.trait).sort();
    assert.deepEqual(warned, ['chroma', 'format', 'jpegQuality']);
    assert.equal(fileTraitWarnings(format.summary.fileTraits!).length, 3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('checkFileTraits inspects an evenly spaced subset of at most maxPerClass files, and skips unreadable ones', async () => {
  const root = await mkdtemp(join(tmpdir(), 'fdft-traits-'));
  try {
    await dataset(root, 10, (i) => jpeg(80, { i }), (i) => jpeg(80, { i, w: 48 }));
    const samples = ['real', 'fake'].flatMap((c, label) => Array.from({ length: 10 }, (_, i) => ({ path: join(root, c, `${c}_${i}.jpg`), label: label as 0 | 1 })));
    const r = await checkFileTraits(samples, { maxPerClass: 4 });
    assert.deepEqual(r.inspected, { real: 4, fake: 4 });
    const dims = r.traits.find((t) => t.trait === 'dimensions')!;
    assert.deepEqual([dims.balancedAccuracy, dims.real, dims.fake], [1, '40x32 4', '48x32 4']);
    samples.push({ path: join(root, 'real', 'missing.jpg'), label: 0 });
    const all = await checkFileTraits(samples);
    assert.deepEqual(all.inspected, { real: 10, fake: 10 }); // the missing file is the decoder's to report
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
