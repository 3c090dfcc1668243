/** Test inputs made on the fly: drawn-face photos and short videos encoded with ffmpeg. */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';
import { drawnFaceSvg, type DrawnFaceOptions } from '../../src/prepare/drawnFace.ts';
import { findFfmpeg } from '../../src/prepare/ffmpeg.ts';
import type { RgbImage } from '../../src/prepare/rgbImage.ts';

/** Writes a JPEG (or PNG by extension) of the drawn face. */
export async function writeDrawnPhoto(path: string, o: DrawnFaceOptions): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const img = sharp(Buffer.from(drawnFaceSvg(o))).removeAlpha();
  await (path.endsWith('.png') ? img.png() : img.jpeg({ quality: 90 })).toFile(path);
}

/**
 * Encodes RGB frames (all of the given size) into a video with ffmpeg, piped through stdin; frames
 * may come from a generator so that long videos are never all in memory.
 */
export async function writeVideo(
  path: string,
  frames: Iterable<RgbImage> | AsyncIterable<RgbImage>,
  fps = 10,
  size?: { width: number; height: number },
  codecArgs = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const first = Array.isArray(frames) ? (frames[0] as RgbImage | undefined) : undefined;
  const { width, height } = size ?? first ?? { width: 0, height: 0 };
  if (!width || !height) throw new Error('writeVideo: give the frame size for a frame generator');
  const p = spawn(
    findFfmpeg(),
    ['-hide_banner', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', ...codecArgs, path],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const done = new Promise<number | null>((resolve, reject) => {
    p.on('error', reject);
    p.on('close', resolve);
  });
  for await (const f of frames) if (!p.stdin.write(f.data)) await new Promise((r) => p.stdin.once('drain', r));
  p.stdin.end();
  const code = await done;
  if (code !== 0) throw new Error(`ffmpeg could not encode ${path}: ${err}`);
}

/** A uniform grey frame: frame i of a "counting" video has grey level `level`. */
export function greyFrame(width: number, height: number, level: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3).fill(level) };
}

/** Mean of an RGB image's bytes. */
export function meanLevel(img: RgbImage): number {
  let s = 0;
  for (let i = 0; i < img.data.length; i++) s += img.data[i];
  return s / img.data.length;
}

/** A file that has a video extension but is garbage. */
export async function writeCorruptVideo(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, Buffer.from('this is not a video, just text with an .mp4 name\n'.repeat(20)));
}
