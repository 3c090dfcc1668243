/**
 * Decoding many files: `loadImages` (everything, then an ImageSet) and `ImageLoader` (streaming:
 * starts decoding at once and serves images as they become ready, so training can begin with the
 * first batch while the rest is decoded on a worker thread).
 */
import { availableParallelism } from 'node:os';
import { dirname, sep } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DecodedImageCache, decodeCached } from './cache.ts';
import { DEFAULT_DECODE, type DecodeOptions } from './decode.ts';
import { DecodeScheduler } from './decodeScheduler.ts';
import { DatasetError } from './errors.ts';
import type { ImageSource } from './imageSource.ts';
import type { ImageSet, Label, Sample, SkippedFile } from './types.ts';

export interface LoadOptions extends DecodeOptions {
  /** Decoded-image cache folder (see cache.ts); none when undefined. Commands pass DEFAULT_CACHE_DIR. */
  cacheDir?: string;
  /** Decodes in flight (sharp runs them on libuv's thread pool). Default 2 × cores, at least 4. */
  concurrency?: number;
  /**
   * 'worker' decodes on a worker thread (overlaps a busy main thread, e.g. training);
   * 'main' on this thread's event loop (no start-up cost; fine when the caller just waits).
   * Default: 'worker' for ImageLoader, 'main' for loadImages.
   */
  thread?: 'worker' | 'main';
  /** Called after each image with (finished, total). */
  onProgress?: (finished: number, total: number) => void;
}

const PENDING = 0;
const OK = 1;
const SKIPPED = 2;

function defaultConcurrency(): number {
  return Math.max(4, 2 * availableParallelism());
}

/** What decoding a list of samples gave: the usable ones (indices into it) and the skipped ones. */
export interface DecodeOutcome extends Pick<ImageSet, 'labels' | 'samples' | 'skipped'> {
  ok: number[];
}

/** Streaming decoder of a list of samples; an ImageSource for batchIterator. */
export class ImageLoader implements ImageSource {
  readonly size: number;
  readonly length: number;
  readonly samples: readonly Sample[];
  private readonly bytes: number;
  private readonly pixels: Uint8Array;
  private readonly status: Int32Array;
  private readonly labels: Uint8Array;
  /** Items whose result this thread has taken in (the worker sets `status` a little earlier). */
  private readonly reported: Uint8Array;
  private readonly skips = new Map<number, SkippedFile>();
  private readonly waiters = new Map<number, (() => void)[]>();
  private readonly opts: LoadOptions;
  private finished = 0;
  private resolveAll!: () => void;
  private readonly allDone: Promise<void>;
  private worker?: Worker;
  private scheduler?: DecodeScheduler;
  private closed = false;

  constructor(samples: readonly Sample[], opts: LoadOptions = {}) {
    this.opts = opts;
    this.samples = samples;
    this.length = samples.length;
    this.size = opts.size ?? DEFAULT_DECODE.size;
    if (!Number.isInteger(this.size) || this.size < 1) throw new RangeError(`image size must be a positive integer (got ${this.size})`);
    this.bytes = this.size * this.size * 3;
    this.labels = Uint8Array.from(samples, (s) => s.label);
    this.reported = new Uint8Array(this.length);
    this.allDone = new Promise((r) => (this.resolveAll = r));
    const thread = opts.thread ?? 'worker';
    const useWorker = thread === 'worker' && samples.length > 0;
    this.pixels = new Uint8Array(useWorker ? new SharedArrayBuffer(this.length * this.bytes) : new ArrayBuffer(this.length * this.bytes));
    this.status = new Int32Array(useWorker ? new SharedArrayBuffer(4 * this.length) : new ArrayBuffer(4 * this.length));
    if (samples.length === 0) this.resolveAll();
    else if (useWorker) this.startWorker();
    else this.startInline();
  }

  private decodeOptions(): DecodeOptions {
    const { size, fit, minSide, limitInputPixels, background } = this.opts;
    void size;
    return { size: this.size, fit, minSide, limitInputPixels, background };
  }

  /** Decodes on this thread: everything, or only `indices` (what a failed worker left). */
  private startInline(indices?: number[]): void {
    const cache = this.opts.cacheDir ? new DecodedImageCache(this.opts.cacheDir) : undefined;
    const decode = this.decodeOptions();
    const todo = indices ? new Set(indices) : undefined;
    this.scheduler = new DecodeScheduler(this.length, this.opts.concurrency ?? defaultConcurrency(), async (i) => {
      if ((todo && !todo.has(i)) || Atomics.load(this.status, i) !== PENDING) return;
      const r = await decodeCached(this.samples[i]!.path, decode, cache);
      if (this.closed) return;
      if ('image' in r) {
        this.pixels.set(r.image, i * this.bytes);
        this.finish(i, OK);
      } else {
        this.finish(i, SKIPPED, r.skip);
      }
    });
    if (indices) this.scheduler.prioritize(indices);
    this.scheduler.start();
  }

  private startWorker(): void {
    const worker = new Worker(new URL('./tsWorker.mjs', import.meta.url), {
      workerData: {
        module: new URL('./decodeWorkerMain.ts', import.meta.url).href,
        paths: this.samples.map((s) => s.path),
        decode: this.decodeOptions(),
        cacheDir: this.opts.cacheDir,
        concurrency: this.opts.concurrency ?? defaultConcurrency(),
        pixels: this.pixels.buffer,
        status: this.status.buffer,
      },
    });
    this.worker = worker;
    worker.unref(); // only waiting callers keep the process alive (see refresh())
    worker.on('message', (m: { i?: number; skip?: Omit<SkippedFile, 'path'>; done?: boolean }) => {
      if (m.done) {
        this.worker = undefined; // before terminate, so its 'exit' is not taken for a failure
        void worker.terminate();
      } else if (m.i !== undefined) {
        this.finish(m.i, m.skip ? SKIPPED : OK, m.skip, true);
      }
    });
    const fallBack = (why: string) => {
      // A worker that cannot run (e.g. a loader problem) must not lose images: finish inline.
      if (this.worker !== worker || this.closed) return;
      this.worker = undefined;
      const left: number[] = [];
      for (let i = 0; i < this.length; i++) {
        const st = Atomics.load(this.status, i);
        if (st === PENDING) left.push(i);
        else if (!this.reported[i]) this.finish(i, st, st === SKIPPED ? { reason: 'decode-error', detail: `decode worker failed: ${why}` } : undefined, true);
      }
      process.emitWarning(`fdft decode worker failed (${why}); decoding ${left.length} image(s) on the main thread`);
      if (left.length) this.startInline(left);
    };
    worker.on('error', (e) => fallBack(e.message));
    worker.on('exit', (code) => fallBack(`exited with code ${code}`));
  }

  private finish(i: number, state: number, skip?: Omit<SkippedFile, 'path'>, fromWorker = false): void {
    if (this.reported[i]) return;
    this.reported[i] = 1;
    if (!fromWorker) Atomics.store(this.status, i, state);
    if (skip) this.skips.set(i, { path: this.samples[i]!.path, ...skip });
    this.finished++;
    this.opts.onProgress?.(this.finished, this.length);
    const w = this.waiters.get(i);
    if (w) {
      this.waiters.delete(i);
      for (const f of w) f();
    }
    this.refresh();
    if (this.finished === this.length) this.resolveAll();
  }

  /** The worker keeps the process alive only while someone waits for an image. */
  private refresh(): void {
    if (!this.worker) return;
    if (this.waiters.size > 0 || this.awaitingAll) this.worker.ref();
    else this.worker.unref();
  }

  private awaitingAll = false;

  /** Images finished so far (decoded or skipped). */
  get completed(): number {
    return this.finished;
  }

  label(i: number): Label {
    return this.labels[i] as Label;
  }

  /** Synchronous state of image i: 'ok', 'skipped' or 'pending'. */
  state(i: number): 'ok' | 'skipped' | 'pending' {
    const s = Atomics.load(this.status, i);
    return s === OK ? 'ok' : s === SKIPPED ? 'skipped' : 'pending';
  }

  image(i: number): Uint8Array | null | Promise<Uint8Array | null> {
    if (!(i >= 0 && i < this.length)) throw new RangeError(`image index ${i} out of range 0..${this.length - 1}`);
    const s = Atomics.load(this.status, i);
    if (s === OK) return this.pixels.subarray(i * this.bytes, (i + 1) * this.bytes);
    if (s === SKIPPED) return null;
    return new Promise((resolve) => {
      let list = this.waiters.get(i);
      if (!list) this.waiters.set(i, (list = []));
      list.push(() => resolve(this.image(i) as Uint8Array | null));
      this.prefetch([i]);
      this.refresh();
    });
  }

  prefetch(indices: ArrayLike<number>): void {
    if (this.worker) this.worker.postMessage({ prioritize: Array.from(indices) });
    else this.scheduler?.prioritize(indices);
  }

  /**
   * Resolves when every image is decoded or skipped: which samples are usable and why the others
   * were skipped, without copying any pixels (a training run serves its images from the loader).
   */
  async outcome(): Promise<DecodeOutcome> {
    await this.settled();
    return this.collectOutcome();
  }

  /** Resolves when every image is decoded or skipped, with the usable ones packed in an ImageSet. */
  async result(): Promise<ImageSet> {
    await this.settled();
    const { ok, labels, samples, skipped } = this.collectOutcome();
    const images = new Uint8Array(ok.length * this.bytes);
    ok.forEach((src, dst) => images.set(this.pixels.subarray(src * this.bytes, (src + 1) * this.bytes), dst * this.bytes));
    return { size: this.size, images, labels, samples, skipped };
  }

  private async settled(): Promise<void> {
    this.awaitingAll = true;
    this.refresh();
    await this.allDone;
    this.awaitingAll = false;
  }

  private collectOutcome(): DecodeOutcome {
    const ok: number[] = [];
    for (let i = 0; i < this.length; i++) if (Atomics.load(this.status, i) === OK) ok.push(i);
    const skipped = [...this.skips.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { ok, labels: Uint8Array.from(ok, (i) => this.labels[i]!), samples: ok.map((i) => this.samples[i]!), skipped };
  }

  /** Stops decoding (e.g. training ended early); pending images stay pending. */
  async close(): Promise<void> {
    this.closed = true;
    this.scheduler?.stop();
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

/** Decodes every sample (skipping bad files with a reason) into one ImageSet. */
export async function loadImages(samples: readonly Sample[], opts: LoadOptions = {}): Promise<ImageSet> {
  const loader = new ImageLoader(samples, { thread: 'main', ...opts });
  try {
    return await loader.result();
  } finally {
    await loader.close();
  }
}

/** The deepest folder containing all these paths. */
function commonFolder(paths: string[]): string {
  if (paths.length === 0) return '(no files)';
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const q = dirname(p).split(sep);
    let k = 0;
    while (k < parts.length && k < q.length && parts[k] === q[k]) k++;
    parts = parts.slice(0, k);
  }
  return parts.join(sep) || sep;
}

/**
 * Stops a run whose decoded set lacks a class: DatasetError naming the class folder and why its
 * files were skipped. `requested` are the samples that were asked for (to name the folder).
 */
export function assertBothClasses(set: Pick<ImageSet, 'labels' | 'skipped'>, requested: readonly Sample[], what = 'dataset'): void {
  for (const label of [0, 1] as const) {
    if (set.labels.includes(label)) continue;
    const cls = label === 0 ? 'real' : 'fake';
    const asked = requested.filter((s) => s.label === label).map((s) => s.path);
    const skipped = set.skipped.filter((s) => asked.includes(s.path));
    const reasons = [...new Set(skipped.map((s) => s.reason))].join(', ');
    throw new DatasetError(
      `${what}: no usable ${cls} image in ${commonFolder(asked)}` +
        (asked.length ? ` (${skipped.length} of ${asked.length} file(s) skipped${reasons ? `: ${reasons}` : ''})` : ' (no files)'),
    );
  }
}
