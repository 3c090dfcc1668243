/**
 * The decode worker: decodes (through the cache) into a SharedArrayBuffer while the main thread
 * trains. Running on its own thread matters: on the main thread a synchronous training step
 * blocks the event loop, so sharp jobs could neither complete nor be started during it.
 *
 * Started through tsWorker.mjs. Protocol: workerData = WorkerInit; the pixels of item i go to pixels[i*bytes …]; then
 * status[i] is set (Atomics) to 1 (ok) or 2 (skipped) and { i, skip? } is posted. The parent may
 * post { prioritize: number[] }; { done: true } is posted last, after which the parent terminates it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DecodedImageCache, decodeCached } from './cache.ts';
import type { DecodeOptions } from './decode.ts';
import { DecodeScheduler } from './decodeScheduler.ts';

export interface WorkerInit {
  paths: string[];
  decode: DecodeOptions;
  cacheDir?: string;
  concurrency: number;
  pixels: SharedArrayBuffer;
  status: SharedArrayBuffer;
}

export const STATUS_PENDING = 0;
export const STATUS_OK = 1;
export const STATUS_SKIPPED = 2;

const init = workerData as WorkerInit;
const size = init.decode.size ?? 64;
const bytes = size * size * 3;
const pixels = new Uint8Array(init.pixels);
const status = new Int32Array(init.status);
const cache = init.cacheDir ? new DecodedImageCache(init.cacheDir) : undefined;
let remaining = init.paths.length;

const scheduler = new DecodeScheduler(init.paths.length, init.concurrency, async (i) => {
  const r = await decodeCached(init.paths[i]!, init.decode, cache);
  if ('image' in r) {
    pixels.set(r.image, i * bytes);
    Atomics.store(status, i, STATUS_OK);
    parentPort!.postMessage({ i });
  } else {
    Atomics.store(status, i, STATUS_SKIPPED);
    parentPort!.postMessage({ i, skip: r.skip });
  }
  if (--remaining === 0) parentPort!.postMessage({ done: true });
});

parentPort!.on('message', (m: { prioritize?: number[] }) => {
  if (m.prioritize) scheduler.prioritize(m.prioritize);
});
if (remaining === 0) parentPort!.postMessage({ done: true });
scheduler.start();
