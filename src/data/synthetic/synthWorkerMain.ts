/**
 * A synthesis worker (started through tsWorker.mjs): renders and writes one index range of the
 * synthetic set, posting { done } progress and finally { kinds }.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { writeSyntheticRange, type RangeOptions } from './synthesize.ts';

const o = workerData as RangeOptions;
let done = 0;
const kinds = await writeSyntheticRange({
  ...o,
  onImage: () => {
    if (++done % 50 === 0) {
      parentPort!.postMessage({ done: 50 });
    }
  },
});
parentPort!.postMessage({ done: done % 50, kinds });
