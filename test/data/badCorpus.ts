/**
 * Test corpus generator: small valid images plus one file for every kind of bad input the data
 * pipeline must survive (each must come back as a SkippedFile with the named reason).
 */
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import zlib from 'node:zlib';
import sharp from 'sharp';

/** A w×h RGB image with a deterministic pattern (no pixel is pure black, so Cutout zeros are countable). */
export function patternRgb(w: number, h: number, seed = 0): Uint8Array {
  const px = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      px[o] = 20 + ((x * 7 + seed * 13) % 200);
      px[o + 1] = 20 + ((y * 5 + seed * 29) % 200);
      px[o + 2] = 20 + (((x + y) * 3 + seed * 7) % 200);
    }
  }
  return px;
}

export async function writeJpeg(path: string, w = 48, h = 48, seed = 0, quality = 92): Promise<void> {
  await writeFile(path, await sharp(patternRgb(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality }).toBuffer());
}

export async function writePng(path: string, w = 48, h = 48, seed = 0): Promise<void> {
  await writeFile(path, await sharp(patternRgb(w, h, seed), { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

/** A PNG whose header claims width×height (the pixel data is a stub): tests sharp's pixel limit cheaply. */
export function pngHeaderOnly(width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td) >>> 0);
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(1024))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A 24-bit (or 8-bit palette) uncompressed BMP of the pattern image. */
export function bmpBytes(w: number, h: number, seed = 0, bpp: 24 | 8 = 24): Buffer {
  const px = patternRgb(w, h, seed);
  const rowBytes = Math.ceil((w * bpp) / 32) * 4;
  const palette = bpp === 8 ? 256 * 4 : 0;
  const off = 54 + palette;
  const b = Buffer.alloc(off + rowBytes * h);
  b.write('BM', 0, 'latin1');
  b.writeUInt32LE(b.length, 2);
  b.writeUInt32LE(off, 10);
  b.writeUInt32LE(40, 14);
  b.writeInt32LE(w, 18);
  b.writeInt32LE(h, 22); // bottom-up
  b.writeUInt16LE(1, 26);
  b.writeUInt16LE(bpp, 28);
  b.writeUInt32LE(rowBytes * h, 34);
  if (bpp === 8) for (let i = 0; i < 256; i++) b.writeUInt32LE((i << 16) | (i << 8) | i, 54 + i * 4); // gray ramp
  for (let y = 0; y < h; y++) {
    const row = off + (h - 1 - y) * rowBytes;
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      if (bpp === 24) {
        b[row + x * 3] = px[o + 2]!;
        b[row + x * 3 + 1] = px[o + 1]!;
        b[row + x * 3 + 2] = px[o]!;
      } else b[row + x] = px[o]!;
    }
  }
  return b;
}

/** The bad files and the reason each must be skipped with (relative to the folder they are in). */
export const BAD_FILES: Record<string, string> = {
  'truncated.jpg': 'truncated',
  'empty.jpg': 'empty-file',
  'text.jpg': 'not-an-image',
  'tiny.png': 'too-small',
  'huge.png': 'too-large',
  'unreadable.jpg': 'unreadable',
  'loop.jpg': 'symlink-loop',
  'broken.jpg': 'broken-symlink',
  'notes.txt': 'unsupported-extension',
};

/**
 * Writes `good` valid images plus every BAD_FILES case into dir (created). Returns the good
 * file names. The unreadable file is chmod 000 (root can still read it: see the tests).
 */
export async function writeBadCorpus(dir: string, good = 3, seed = 0): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const names: string[] = [];
  for (let i = 0; i < good; i++) {
    const name = `good_${i}.${i % 2 ? 'png' : 'jpg'}`;
    if (i % 2) await writePng(join(dir, name), 40, 40, seed + i);
    else await writeJpeg(join(dir, name), 40, 40, seed + i);
    names.push(name);
  }
  const big = await sharp(patternRgb(128, 128, seed), { raw: { width: 128, height: 128, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
  await writeFile(join(dir, 'truncated.jpg'), big.subarray(0, Math.floor(big.length * 0.6)));
  await writeFile(join(dir, 'empty.jpg'), Buffer.alloc(0));
  await writeFile(join(dir, 'text.jpg'), 'this is a text file, not a JPEG\n');
  await writeFile(join(dir, 'tiny.png'), await sharp({ create: { width: 1, height: 1, channels: 3, background: 'red' } }).png().toBuffer());
  await writeFile(join(dir, 'huge.png'), pngHeaderOnly(20000, 20000));
  await writeJpeg(join(dir, 'unreadable.jpg'), 40, 40, seed + 99);
  await chmod(join(dir, 'unreadable.jpg'), 0o000);
  await symlink('loop.jpg', join(dir, 'loop.jpg'));
  await symlink('does-not-exist.jpg', join(dir, 'broken.jpg'));
  await writeFile(join(dir, 'notes.txt'), 'not an image\n');
  return names;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Runs `probe.ts` (walk | decode a path, prints JSON) as an unprivileged user when the tests run
 * as root, where permission bits do not apply. Returns undefined when that is not possible.
 */
export async function probeAsUnprivileged(mode: 'walk' | 'decode', path: string): Promise<unknown> {
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const probe = fileURLToPath(new URL('./probe.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', probe, mode, path], {
    uid: 65534,
    gid: 65534,
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    env: { ...process.env, HOME: '/tmp' },
  });
  if (r.status !== 0) return undefined;
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  } catch {
    return undefined;
  }
}
