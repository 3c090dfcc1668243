/**
 * The embedded synthetic dataset: procedural "real" faces and "fake" ones carrying face-swap or
 * GAN-upsampling traces, written in the flat layout OUT/{real,fake}/*.jpg. Each image is a pure
 * function of (seed, label, index), so a set can be regenerated bit for bit.
 */
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { DatasetError, DataOptionsError } from '../errors.ts';
import { rngFor, uniform } from '../random.ts';
import { develop, sampleCamera } from './camera.ts';
import { renderFace, sampleFace } from './faceModel.ts';
import { ganUpsample, sampleGan, sampleSwap, swapFace } from './forgeries.ts';
import { Raster } from './raster.ts';

/** Bumped whenever the generator's output changes (invalidates cached default sets). */
export const SYNTHETIC_VERSION = 3;

export type SyntheticKind = 'real' | 'swap' | 'gan' | 'swap+gan';

export interface SyntheticSample {
  /** size*size*3 RGB bytes (before JPEG compression). */
  rgb: Uint8Array;
  size: number;
  label: 0 | 1;
  kind: SyntheticKind;
  jpegQuality: number;
}

/**
 * Renders sample `index` of class `label` (0 real, 1 fake) of the set with this seed;
 * `strength` scales the forgery traces (1 = default; > 1 easier, < 1 harder).
 */
export function renderSyntheticSample(seed: number, label: 0 | 1, index: number, size = 64, strength = 1): SyntheticSample {
  const rng = rngFor(seed, 'synthetic', SYNTHETIC_VERSION, label, index);
  const params = sampleFace(rng);
  const cam = sampleCamera(rng);
  let kind: SyntheticKind = 'real';
  if (label === 1) {
    const u = rng();
    kind = u < 0.45 ? 'swap' : u < 0.9 ? 'gan' : 'swap+gan';
    if (kind !== 'swap' && rng() < 0.5) {
      // GAN-typical inconsistency: the two eyes do not match.
      if (rng() < 0.5) params.id.irisRight = [rng() * 0.6, rng() * 0.6, rng() * 0.6];
      else params.id.eyeRightScale = uniform(rng, 0.75, 1.25);
    }
  }
  let r = new Raster(size, size);
  renderFace(r, params);
  if (kind === 'swap' || kind === 'swap+gan') swapFace(r, params, sampleSwap(rng, strength), rng);
  if (kind === 'gan' || kind === 'swap+gan') r = ganUpsample(r, sampleGan(rng, strength));
  return { rgb: develop(r, cam, rng), size, label, kind, jpegQuality: cam.jpegQuality };
}

export interface SynthesizeOptions {
  /** Output folder (flat layout). */
  out: string;
  /** Images per class. Default 1500. */
  count?: number;
  seed?: number;
  /** Side in px. Default 64. */
  size?: number;
  /** 'jpg' (default: the camera's JPEG quality is part of the data) or 'png'. */
  format?: 'jpg' | 'png';
  /** Forgery trace strength (1 = default; > 1 easier, < 1 harder to detect). */
  strength?: number;
  /** Threads rendering in parallel (this one + workers). Default: one per core (1 below 200 images per class). */
  workers?: number;
  /** Replace an existing non-empty output folder. Default false. */
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface SynthesizeResult {
  out: string;
  count: number;
  seed: number;
  size: number;
  strength: number;
  kinds: Record<SyntheticKind, number>;
  ms: number;
}

/** Marker written last: a folder with it is complete. */
export const SYNTHETIC_MANIFEST = 'synthetic.json';

async function isNonEmptyDir(p: string): Promise<boolean> {
  try {
    return (await readdir(p)).length > 0;
  } catch {
    return false;
  }
}

export interface RangeOptions {
  dir: string;
  seed: number;
  size: number;
  strength: number;
  format: 'jpg' | 'png';
  /** Indices [from, to) of both classes. */
  from: number;
  to: number;
  /** Zero-padded width of the index in file names. */
  digits: number;
  onImage?: () => void;
}

/** Renders and writes images [from, to) of both classes into dir/{real,fake}/ (one thread). */
export async function writeSyntheticRange(o: RangeOptions): Promise<Record<SyntheticKind, number>> {
  const { default: sharp } = await import('sharp');
  const kinds: Record<SyntheticKind, number> = { real: 0, swap: 0, gan: 0, 'swap+gan': 0 };
  const pending = new Set<Promise<void>>();
  try {
    for (let index = o.from; index < o.to; index++) {
      for (const label of [0, 1] as const) {
        const s = renderSyntheticSample(o.seed, label, index, o.size, o.strength);
        kinds[s.kind]++;
        const cls = label === 0 ? 'real' : 'fake';
        const file = join(o.dir, cls, `${cls}_${String(index).padStart(o.digits, '0')}.${o.format}`);
        const img = sharp(s.rgb, { raw: { width: o.size, height: o.size, channels: 3 } });
        const p: Promise<void> = (o.format === 'jpg' ? img.jpeg({ quality: s.jpegQuality, chromaSubsampling: '4:2:0' }) : img.png())
          .toFile(file)
          .then(() => {
            pending.delete(p);
            o.onImage?.();
          });
        pending.add(p);
        // Bounded: rendering is synchronous, encoding runs on libuv threads meanwhile.
        if (pending.size >= 16) await Promise.race(pending);
      }
    }
    await Promise.all(pending);
  } finally {
    await Promise.allSettled(pending);
  }
  return kinds;
}

/** Renders on `threads` threads: the first index range here, the others on worker threads. */
async function writeParallel(base: Omit<RangeOptions, 'from' | 'to' | 'onImage'>, count: number, threads: number, onImage: () => void) {
  const { Worker } = await import('node:worker_threads');
  const kinds: Record<SyntheticKind, number> = { real: 0, swap: 0, gan: 0, 'swap+gan': 0 };
  const add = (k: Record<SyntheticKind, number>) => {
    for (const key of Object.keys(kinds) as SyntheticKind[]) kinds[key] += k[key];
  };
  const per = Math.ceil(count / threads);
  const jobs: Promise<void>[] = [];
  for (let w = 1; w < threads; w++) {
    const from = w * per;
    const to = Math.min(count, from + per);
    if (from >= to) break;
    jobs.push(
      new Promise<void>((resolveJob, reject) => {
        const worker = new Worker(new URL('../tsWorker.mjs', import.meta.url), {
          workerData: { module: new URL('./synthWorkerMain.ts', import.meta.url).href, ...base, from, to },
        });
        worker.on('message', (m: { done?: number; kinds?: Record<SyntheticKind, number> }) => {
          for (let i = 0; i < (m.done ?? 0); i++) onImage();
          if (m.kinds) add(m.kinds);
        });
        worker.on('error', reject);
        worker.on('exit', (code) => (code === 0 ? resolveJob() : reject(new Error(`synthesis worker exited with code ${code}`))));
      }),
    );
  }
  jobs.push(writeSyntheticRange({ ...base, from: 0, to: Math.min(count, per), onImage }).then(add));
  await Promise.all(jobs);
  return kinds;
}

/**
 * Writes the set into a temp folder next to `out`, then renames it into place, so a folder named
 * `out` is always complete (with SYNTHETIC_MANIFEST) or absent.
 */
export async function synthesizeDataset(opts: SynthesizeOptions): Promise<SynthesizeResult> {
  const out = resolve(opts.out);
  const count = opts.count ?? 1500;
  const seed = opts.seed ?? 0;
  const size = opts.size ?? 64;
  const format = opts.format ?? 'jpg';
  const strength = opts.strength ?? 1;
  if (!(strength >= 0 && strength <= 10)) throw new DataOptionsError(`strength must be in [0, 10] (got ${strength})`);
  if (!(Number.isInteger(count) && count >= 1)) throw new DataOptionsError(`count must be an integer ≥ 1 (got ${count})`);
  if (!(Number.isInteger(size) && size >= 16 && size <= 1024)) throw new DataOptionsError(`size must be an integer in [16, 1024] (got ${size})`);
  if (!Number.isInteger(seed)) throw new DataOptionsError(`seed must be an integer (got ${seed})`);
  if (format !== 'jpg' && format !== 'png') throw new DataOptionsError(`format must be jpg or png (got ${format})`);
  if (await isNonEmptyDir(out)) {
    if (!opts.overwrite) throw new DatasetError(`${out} exists and is not empty (use overwrite / --overwrite to replace it)`);
  }
  const t0 = performance.now();
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}-${Date.now()}`);
  await mkdir(join(tmp, 'real'), { recursive: true });
  await mkdir(join(tmp, 'fake'), { recursive: true });
  const total = 2 * count;
  let done = 0;
  const onImage = () => opts.onProgress?.(++done, total);
  const base = { dir: tmp, seed, size, strength, format, digits: Math.max(5, String(count - 1).length) };
  const workers = Math.max(1, Math.min(opts.workers ?? (count >= 200 ? availableParallelism() : 1), 16));
  try {
    const kinds = workers > 1 ? await writeParallel(base, count, workers, onImage) : await writeSyntheticRange({ ...base, from: 0, to: count, onImage });
    const ms = performance.now() - t0;
    const result: SynthesizeResult = { out, count, seed, size, strength, kinds, ms };
    await writeFile(
      join(tmp, SYNTHETIC_MANIFEST),
      JSON.stringify({ generator: 'fdft synthetic faces', version: SYNTHETIC_VERSION, count, seed, size, strength, format, kinds, layout: 'flat', labels: { real: 0, fake: 1 } }, null, 2) + '\n',
    );
    if (opts.overwrite && (await stat(out).catch(() => undefined))) await rm(out, { recursive: true, force: true });
    try {
      await rename(tmp, out);
    } catch (e) {
      // Another process finished the same set first: keep theirs.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await stat(join(out, SYNTHETIC_MANIFEST)).catch(() => undefined))) {
        await rm(tmp, { recursive: true, force: true });
      } else throw e;
    }
    return result;
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
