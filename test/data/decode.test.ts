import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeImage, sharpErrorReason } from '../../src/data/decode.ts';
import { decodeBmp } from '../../src/data/bmp.ts';
import { BAD_FILES, bmpBytes, isRoot, patternRgb, probeAsUnprivileged, writeBadCorpus } from './badCorpus.ts';

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-decode-'));
  try {
    await fn(dir);
  } finally {
    await chmod(join(dir, 'unreadable.jpg'), 0o644).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

async function reasonOf(path: string): Promise<string | undefined> {
  try {
    await decodeImage(path, { size: 32 });
    return undefined;
  } catch (e) {
    assert.equal((e as Error).name, 'ImageDecodeError');
    return (e as { reason: string }).reason;
  }
}

test('decodeImage: every bad-input case is a named skip reason', async (t) => {
  await withDir(async (dir) => {
    const good = await writeBadCorpus(dir);
    for (const g of good) {
      const px = await decodeImage(join(dir, g), { size: 32 });
      assert.equal(px.length, 32 * 32 * 3);
    }
    for (const [file, reason] of Object.entries(BAD_FILES)) {
      if (file === 'notes.txt') continue; // filtered by extension before decoding (walk.test.ts)
      if (file === 'broken.jpg') {
        assert.equal(await reasonOf(join(dir, file)), 'missing', file); // a dangling link reads as a missing file
        continue;
      }
      if (file === 'unreadable.jpg' && isRoot) {
        await chmod(dir, 0o755);
        const r = (await probeAsUnprivileged('decode', join(dir, file))) as { reason?: string } | undefined;
        if (!r) t.diagnostic('running as root and cannot run a child as an unprivileged user: unreadable case not checked');
        else assert.equal(r.reason, reason, file);
        continue;
      }
      assert.equal(await reasonOf(join(dir, file)), reason, file);
    }
  });
});

test('decodeImage: formats, EXIF orientation, alpha, grayscale, CMYK, 16-bit → 8-bit RGB', async () => {
  await withDir(async (dir) => {
    const W = 40;
    const H = 20;
    // Left half red, right half blue; EXIF orientation 6 (rotate 90° clockwise to display).
    const lr = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) lr.set(x < W / 2 ? [250, 10, 10] : [10, 10, 250], (y * W + x) * 3);
    const raw = { raw: { width: W, height: H, channels: 3 as const } };
    await writeFile(join(dir, 'exif6.jpg'), await sharp(lr, raw).withMetadata({ orientation: 6 }).jpeg({ quality: 95 }).toBuffer());
    const px = await decodeImage(join(dir, 'exif6.jpg'), { size: 16 });
    // Displayed upright, the red half is on top: the top rows are red, the bottom rows blue.
    assert.ok(px[0]! > 180 && px[2]! < 80, `top-left should be red, got ${px.slice(0, 3)}`);
    const last = (16 * 16 - 1) * 3;
    assert.ok(px[last + 2]! > 180 && px[last]! < 80, `bottom-right should be blue, got ${px.slice(last, last + 3)}`);

    // Transparent PNG: flattened onto black.
    await writeFile(join(dir, 'alpha.png'), await sharp({ create: { width: 20, height: 20, channels: 4, background: { r: 255, g: 255, b: 255, alpha: 0 } } }).png().toBuffer());
    assert.ok((await decodeImage(join(dir, 'alpha.png'), { size: 8 })).every((v) => v === 0));

    const pattern = patternRgb(32, 32);
    const praw = { raw: { width: 32, height: 32, channels: 3 as const } };
    const cases: [string, Buffer][] = [
      ['gray.png', await sharp(pattern, praw).toColourspace('b-w').png().toBuffer()],
      ['cmyk.jpg', await sharp(pattern, praw).toColourspace('cmyk').jpeg().toBuffer()],
      ['deep.png', await sharp(pattern, praw).toColourspace('rgb16').png().toBuffer()],
      ['a.webp', await sharp(pattern, praw).webp({ lossless: true }).toBuffer()],
      ['a.tiff', await sharp(pattern, praw).tiff().toBuffer()],
      ['a.bmp', bmpBytes(32, 32)],
      ['p8.bmp', bmpBytes(32, 32, 0, 8)],
    ];
    for (const [name, buf] of cases) {
      await writeFile(join(dir, name), buf);
      const out = await decodeImage(join(dir, name), { size: 16 });
      assert.equal(out.length, 16 * 16 * 3, name);
      assert.ok(out.some((v) => v > 0), `${name} decoded to black`);
      if (name === 'gray.png' || name === 'p8.bmp') for (let i = 0; i < out.length; i += 3) assert.ok(out[i] === out[i + 1] && out[i] === out[i + 2], `${name} gray`);
    }
  });
});

test('decodeImage: squash vs centre crop', async () => {
  await withDir(async (dir) => {
    // 60x20: a green centre square between red bars.
    const W = 60;
    const H = 20;
    const px = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px.set(x >= 20 && x < 40 ? [0, 255, 0] : [255, 0, 0], (y * W + x) * 3);
    await writeFile(join(dir, 'wide.png'), await sharp(px, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer());
    const crop = await decodeImage(join(dir, 'wide.png'), { size: 10, fit: 'crop' });
    const squash = await decodeImage(join(dir, 'wide.png'), { size: 12, fit: 'squash' });
    for (let i = 0; i < crop.length; i += 3) assert.ok(crop[i + 1]! > 200 && crop[i]! < 50, 'crop keeps only the green centre');
    assert.ok(squash[0]! > 200 && squash[1]! < 50, 'squash keeps the red left bar');
    assert.ok(squash[6 * 3 + 1]! > 200, 'squash has green in the middle');
  });
});

test('decodeBmp: 24-bit and palette BMP equal the source pixels; RLE is unsupported', () => {
  const src = patternRgb(7, 5, 3); // odd width: row padding
  const img = decodeBmp(bmpBytes(7, 5, 3));
  assert.deepEqual([img.width, img.height], [7, 5]);
  assert.deepEqual(Array.from(img.data), Array.from(src));
  const rle = bmpBytes(4, 4, 0, 8);
  rle.writeUInt32LE(1, 30); // BI_RLE8
  assert.throws(() => decodeBmp(rle), (e: Error & { reason?: string }) => e.reason === 'unsupported-format');
  assert.throws(() => decodeBmp(bmpBytes(8, 8).subarray(0, 80)), (e: Error & { reason?: string }) => e.reason === 'truncated');
});

test('sharpErrorReason maps libvips messages', () => {
  assert.equal(sharpErrorReason('Input file contains unsupported image format'), 'not-an-image');
  assert.equal(sharpErrorReason('Input image exceeds pixel limit'), 'too-large');
  assert.equal(sharpErrorReason('VipsJpeg: premature end of JPEG image'), 'truncated');
  assert.equal(sharpErrorReason('vipspng: libpng read error'), 'truncated');
  assert.equal(sharpErrorReason('something odd'), 'decode-error');
});
