/**
 * The decoded-image cache: one small binary file per (file path + size + mtime + decode
 * options) key, so later epochs and runs never decode a file again — including files that failed
 * (their skip reason is cached too, so a 20000x20000 image is not re-tried every run).
 *
 * File layout (little-endian): 'FDFI' magic, u8 format version, u8 status (0 image, 1 skipped),
 * u16 reserved, u32 side, u32 payload bytes, payload (side*side*3 RGB bytes, or the skip as
 * UTF-8 JSON). Entries are written to a temp name and renamed, so a crash never leaves a partial
 * entry under a real name; an entry that fails the checks is treated as absent and rewritten.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DEFAULT_DECODE, type DecodeOptions, decodeImage } from './decode.ts';
import { ImageDecodeError } from './errors.ts';
import type { SkippedFile } from './types.ts';

const MAGIC = 0x49464446; // 'FDFI' read as a little-endian u32
const VERSION = 1;
const HEADER = 16;

/** Default cache location for commands (git-ignored). */
export const DEFAULT_CACHE_DIR = '.cache/fdft-images';

export type CachedResult = { image: Uint8Array } | { skip: Omit<SkippedFile, 'path'> };

export class DecodedImageCache {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  /** The key of a file version + decode options (what makes the decoded bytes differ). */
  static key(path: string, file: { size: number; mtimeMs: number }, opts: DecodeOptions): string {
    const o = { ...DEFAULT_DECODE, ...opts };
    const bg = o.background ? `${o.background.r},${o.background.g},${o.background.b}` : '0,0,0';
    return createHash('sha1')
      .update([resolve(path), file.size, Math.round(file.mtimeMs * 1000), o.size, o.fit, o.minSide, o.limitInputPixels, bg].join('\u0000'))
      .digest('hex');
  }

  private file(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.bin`);
  }

  async get(key: string, side: number): Promise<CachedResult | undefined> {
    let buf: Buffer;
    try {
      buf = await readFile(this.file(key));
    } catch {
      return undefined;
    }
    if (buf.length < HEADER || buf.readUInt32LE(0) !== MAGIC || buf[4] !== VERSION || buf.readUInt32LE(8) !== side) return undefined;
    const n = buf.readUInt32LE(12);
    if (buf.length !== HEADER + n) return undefined;
    if (buf[5] === 0) {
      if (n !== side * side * 3) return undefined;
      return { image: new Uint8Array(buf.buffer, buf.byteOffset + HEADER, n) };
    }
    try {
      const skip = JSON.parse(buf.subarray(HEADER).toString('utf8')) as Omit<SkippedFile, 'path'>;
      return typeof skip.reason === 'string' ? { skip } : undefined;
    } catch {
      return undefined;
    }
  }

  async put(key: string, side: number, result: CachedResult): Promise<void> {
    const payload = 'image' in result ? result.image : Buffer.from(JSON.stringify(result.skip), 'utf8');
    const buf = Buffer.allocUnsafe(HEADER + payload.length);
    buf.writeUInt32LE(MAGIC, 0);
    buf[4] = VERSION;
    buf[5] = 'image' in result ? 0 : 1;
    buf.writeUInt16LE(0, 6);
    buf.writeUInt32LE(side, 8);
    buf.writeUInt32LE(payload.length, 12);
    buf.set(payload, HEADER);
    const path = this.file(key);
    const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await writeFile(tmp, buf);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      await mkdir(join(this.dir, key.slice(0, 2)), { recursive: true });
      await writeFile(tmp, buf);
    }
    await rename(tmp, path).catch(async (e) => {
      await unlink(tmp).catch(() => {});
      throw e;
    });
  }
}

/** Skip reasons that depend on the machine at this moment, not on the file: never cached. */
const TRANSIENT = new Set(['unreadable', 'missing', 'symlink-loop', 'not-a-file']);

/**
 * Decodes one file through the cache (when given): a hit costs a stat and one small read.
 * Never throws for a bad file; returns its skip instead.
 */
export async function decodeCached(path: string, opts: DecodeOptions, cache?: DecodedImageCache): Promise<CachedResult> {
  const side = opts.size ?? DEFAULT_DECODE.size;
  let key: string | undefined;
  if (cache) {
    try {
      const st = await stat(path);
      key = DecodedImageCache.key(path, st, opts);
      const hit = await cache.get(key, side);
      if (hit) return hit;
    } catch {
      // stat failed: let decodeImage name the reason
    }
  }
  let result: CachedResult;
  try {
    result = { image: await decodeImage(path, opts) };
  } catch (e) {
    if (e instanceof ImageDecodeError) result = { skip: { reason: e.reason, detail: e.message } };
    else result = { skip: { reason: 'decode-error', detail: (e as Error).message.split('\n')[0] } };
  }
  if (cache && key && !('skip' in result && TRANSIENT.has(result.skip.reason))) {
    await cache.put(key, side, result).catch(() => {
      // a cache that cannot be written only costs speed
    });
  }
  return result;
}
