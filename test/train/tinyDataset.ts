/**
 * A tiny flat-layout dataset for end-to-end training tests: "fake" images carry a high-frequency
 * checkerboard (a GAN-upsampling-like trace), "real" ones smooth gradients; both with noise.
 * Written as PNGs with sharp; small enough that a whole pretrain → train → eval runs in seconds.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import seedrandom from 'seedrandom';

export async function writeTinyDataset(root: string, perClass = 24, size = 32, seed = 7): Promise<string> {
  const rng = seedrandom(String(seed));
  for (const cls of ['real', 'fake'] as const) {
    const dir = join(root, cls);
    await mkdir(dir, { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const px = Buffer.alloc(size * size * 3);
      const base = [rng() * 200 + 30, rng() * 200 + 30, rng() * 200 + 30];
      for (let y = 0; y < size; y++) {
        for (let x = 0; x < size; x++) {
          const checker = cls === 'fake' && (x + y) % 2 === 0 ? 40 : 0;
          for (let c = 0; c < 3; c++) {
            const v = base[c]! * (0.6 + (0.4 * (x + y)) / (2 * size)) + checker + (rng() - 0.5) * 20;
            px[(y * size + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(v)));
          }
        }
      }
      await sharp(px, { raw: { width: size, height: size, channels: 3 } })
        .png()
        .toFile(join(dir, `${cls}-${String(i).padStart(3, '0')}.png`));
    }
  }
  return root;
}
