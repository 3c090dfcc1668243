import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat, utimes, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecodedImageCache, decodeCached } from '../../src/data/cache.ts';
import { assertBothClasses, ImageLoader, loadImages } from '../../src/data/loader.ts';
import type { Sample } from '../../src/data/types.ts';
import { BAD_FILES, writeBadCorpus, writeJpeg } from './badCorpus.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-loader-'));
  try {
    await fn(dir);
  } finally {
    await chmod(join(dir, 'data', 'unreadable.jpg'), 0o644).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function corpusSamples(dir: string, good = 6): Promise<Sample[]> {
  const names = await writeBadCorpus(join(dir, 'data'), good);
  const bad = Object.keys(BAD_FILES).filter((f) => f !== 'notes.txt' && f !== 'unreadable.jpg');
  return [...names, ...bad].map((n, i) => ({ path: join(dir, 'data', n), label: (i % 2) as 0 | 1 }));
}

test('loadImages: decodes in order, skips bad files with reasons, keeps labels aligned', async () => {
  await withDir(async (dir) => {
    const samples = await corpusSamples(dir);
    const set = await loadImages(samples, { size: 16 });
    assert.equal(set.size, 16);
    assert.equal(set.samples.length, 6);
    assert.equal(set.images.length, 6 * 16 * 16 * 3);
    assert.deepEqual(set.samples, samples.slice(0, 6));
    assert.deepEqual(Array.from(set.labels), [0, 1, 0, 1, 0, 1]);
    const reasons = Object.fromEntries(set.skipped.map((s) => [s.path.split('/').pop(), s.reason]));
    assert.deepEqual(reasons, {
      'broken.jpg': 'missing',
      'empty.jpg': 'empty-file',
      'huge.png': 'too-large',
      'loop.jpg': 'symlink-loop',
      'text.jpg': 'not-an-image',
      'tiny.png': 'too-small',
      'truncated.jpg': 'truncated',
    });
  });
});

test('cache: a hit returns the same bytes without decoding; a changed file is decoded again', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'a.jpg');
    await writeJpeg(file, 40, 40, 1);
    const cacheDir = join(dir, 'cache');
    const cache = new DecodedImageCache(cacheDir);
    const first = await decodeCached(file, { size: 8 }, cache);
    assert.ok('image' in first);
    const entries = await readdir(cacheDir, { recursive: true });
    const entryFile = entries.find((e) => e.endsWith('.bin'))!;
    assert.ok(entryFile, 'one cache entry written');
    assert.equal((await stat(join(cacheDir, entryFile))).size, 16 + 8 * 8 * 3);
    // Overwrite the cache entry's pixels: a hit must return them (proves no decode happened).
    const buf = await readFile(join(cacheDir, entryFile));
    buf.fill(7, 16);
    await writeFile(join(cacheDir, entryFile), buf);
    const hit = await decodeCached(file, { size: 8 }, cache);
    assert.ok('image' in hit && hit.image.every((v) => v === 7));
    // Other decode options or a newer file: another key, decoded again.
    const crop = await decodeCached(file, { size: 8, fit: 'crop' }, cache);
    assert.ok('image' in crop && !crop.image.every((v) => v === 7));
    const later = new Date(Date.now() + 5000);
    await utimes(file, later, later);
    const fresh = await decodeCached(file, { size: 8 }, cache);
    assert.ok('image' in fresh && !fresh.image.every((v) => v === 7));
    // A corrupt entry is ignored (and rewritten).
    const key = DecodedImageCache.key(file, await stat(file), { size: 8 });
    const path = join(cacheDir, key.slice(0, 2), `${key}.bin`);
    await writeFile(path, Buffer.from('garbage'));
    assert.equal(await cache.get(key, 8), undefined);
    const again = await decodeCached(file, { size: 8 }, cache);
    assert.deepEqual(again, fresh);
    assert.ok(await cache.get(key, 8));
  });
});

test('cache: skips are cached too (with their reason)', async () => {
  await withDir(async (dir) => {
    const file = join(dir, 'text.jpg');
    await writeFile(file, 'not an image');
    const cache = new DecodedImageCache(join(dir, 'cache'));
    const r1 = await decodeCached(file, { size: 8 }, cache);
    const key = DecodedImageCache.key(file, await stat(file), { size: 8 });
    assert.deepEqual(await cache.get(key, 8), r1);
    assert.ok('skip' in r1 && r1.skip.reason === 'not-an-image');
  });
});

test('ImageLoader (worker thread): streams images, honours prefetch, equals loadImages', async () => {
  await withDir(async (dir) => {
    const samples = await corpusSamples(dir, 10);
    const cacheDir = join(dir, 'cache');
    const reference = await loadImages(samples, { size: 16 });
    const loader = new ImageLoader(samples, { size: 16, cacheDir, concurrency: 2 });
    assert.equal(loader.length, samples.length);
    loader.prefetch([9, 8]);
    const img9 = await loader.image(9);
    assert.ok(img9 instanceof Uint8Array);
    assert.deepEqual(Array.from(img9!), Array.from(reference.images.subarray(9 * 768, 10 * 768)));
    const bad = samples.findIndex((s) => s.path.endsWith('text.jpg'));
    assert.equal(await loader.image(bad), null);
    assert.equal(loader.state(bad), 'skipped');
    const set = await loader.result();
    assert.deepEqual(set.samples, reference.samples);
    assert.deepEqual(Array.from(set.images), Array.from(reference.images));
    assert.deepEqual(set.skipped, reference.skipped);
    await loader.close();
    // Second run: everything from the cache.
    const cached = await loadImages(samples, { size: 16, cacheDir });
    assert.deepEqual(Array.from(cached.images), Array.from(reference.images));
  });
});

test('loadImages of nothing is an empty set', async () => {
  const set = await loadImages([], { size: 8 });
  assert.equal(set.samples.length, 0);
  assert.equal(set.images.length, 0);
});

test('assertBothClasses: a class with no decodable image stops the run, naming its folder', async () => {
  await withDir(async (dir) => {
    const samples = await corpusSamples(dir, 2);
    // Only bad files are fake: relabel so the fake class is all bad.
    const relabelled = samples.map((s, i) => ({ ...s, label: (i < 2 ? 0 : 1) as 0 | 1 }));
    const set = await loadImages(relabelled, { size: 8 });
    assert.throws(
      () => assertBothClasses(set, relabelled, 'train split'),
      (e: Error) => e.name === 'DatasetError' && e.message.includes(join(dir, 'data')) && /no usable fake image/.test(e.message) && /truncated/.test(e.message),
    );
    const ok = await loadImages(samples.slice(0, 2), { size: 8 });
    assertBothClasses(ok, samples.slice(0, 2));
  });
});
