/**
 * Content identity of an image file for the leakage guard: the first 16 hex digits (64 bits) of
 * the SHA-256 of its bytes, so a copy of a training image under another path is still caught.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

export async function hashImageFile(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
}

/** Hashes of many files, a few at a time; an unreadable file gets `unreadable:<path>`. */
export async function hashImageFiles(paths: readonly string[], concurrency = 16): Promise<string[]> {
  const out = new Array<string>(paths.length);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const i = next++;
      out[i] = await hashImageFile(paths[i]!).catch(() => `unreadable:${paths[i]}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return out;
}
