/**
 * Fine-tuning: the frozen backbone's feature maps of un-augmented images, kept per image and
 * computed once. Every epoch scores the same validation images and runs precise BN on training
 * images without augmentation, and the backbone never changes — so recomputing their feature maps
 * every epoch (the backbone's forward pass, the costliest part of FDFtNet's) only repeated work:
 * with Xception it was about half of each `--preset quick` epoch.
 *
 * Images are keyed by (set, index in the set): a set is the object the batches came from (the
 * validation ImageSet, the training ImageSource). Augmented training batches never come here;
 * un-augmented ones (`--no-augment`) do, so that the step trains the heads on kept maps.
 * The cache holds at most `maxBytes` of maps; past that, maps are computed and not kept.
 */
import * as tf from '@tensorflow/tfjs';
import type { Batch, EpochBatches } from './loop.ts';

export class FeatureMapCacheError extends Error {
  override name = 'FeatureMapCacheError';
}

/** Default bound on the maps kept: Xception's 2x2x2048 maps at 64x64 are 32 KiB an image (16,000 images). */
export const DEFAULT_FEATURE_CACHE_BYTES = 512 * 1024 ** 2;

export interface FeatureMapCache {
  /**
   * The feature maps of images `indices` of `set`, whose pixels are `xs` (in that order): the kept
   * ones, and the rest computed (for the whole batch, then kept). The caller disposes the result.
   */
  get(set: object, indices: readonly number[], xs: tf.Tensor4D): Promise<tf.Tensor>;
  /**
   * `source`'s batches (with their `indices` in `set`; un-augmented) with their feature maps
   * started from the cache; `take(xs)` hands them out (precise BN's inputs).
   */
  batches(source: EpochBatches, set: object): EpochBatches;
  /** The maps started for a batch of `batches` (then forgotten), or undefined for other batches. */
  take(xs: tf.Tensor): Promise<tf.Tensor> | undefined;
  /** Bytes of maps kept. */
  bytes(): number;
  /** The most bytes of maps it keeps. */
  readonly maxBytes: number;
  /** Backbone runs so far (tests, logs). */
  computed(): number;
  /** Batches whose maps were handed out so far, kept or computed (tests, logs). */
  served(): number;
}

export function featureMapCache(compute: (xs: tf.Tensor4D) => Promise<tf.Tensor>, maxBytes = DEFAULT_FEATURE_CACHE_BYTES): FeatureMapCache {
  const kept = new Map<object, Map<number, Float32Array>>();
  const started = new Map<tf.Tensor, Promise<tf.Tensor>>();
  let bytes = 0;
  let runs = 0;
  let served = 0;
  let mapShape: number[] | undefined; // one image's map shape, e.g. [2, 2, 2048]

  const get = async (set: object, indices: readonly number[], xs: tf.Tensor4D): Promise<tf.Tensor> => {
    if (indices.length !== xs.shape[0]) throw new FeatureMapCacheError(`${indices.length} indices for a batch of ${xs.shape[0]} images`);
    served++;
    const ofSet = kept.get(set);
    const hits = mapShape && ofSet ? indices.map((i) => ofSet.get(i)) : [];
    if (mapShape && hits.length === indices.length && hits.every((h) => h !== undefined)) {
      const per = hits[0]!.length;
      const out = new Float32Array(per * indices.length);
      hits.forEach((h, k) => out.set(h!, k * per));
      return tf.tensor(out, [indices.length, ...mapShape], 'float32');
    }
    runs++;
    const maps = await compute(xs);
    mapShape ??= maps.shape.slice(1);
    const data = (await maps.data()) as Float32Array;
    const per = data.length / indices.length;
    let into = kept.get(set);
    if (!into) kept.set(set, (into = new Map()));
    for (const [k, i] of indices.entries()) {
      if (into.has(i)) continue;
      if (bytes + per * 4 > maxBytes) break; // full: computed, not kept
      into.set(i, data.slice(k * per, (k + 1) * per));
      bytes += per * 4;
    }
    return maps;
  };

  type IndexedBatch = Batch & { indices?: number[] };
  async function* registered(source: AsyncIterable<IndexedBatch> | Iterable<IndexedBatch>, set: object): AsyncGenerator<Batch> {
    const mine: tf.Tensor[] = [];
    try {
      for await (const batch of source) {
        if (!batch.indices) throw new FeatureMapCacheError('featureMapCache.batches needs batches that carry their image indices');
        const p = get(set, batch.indices, batch.xs);
        p.catch(() => {}); // surfaces when the consumer takes it
        started.set(batch.xs, p);
        mine.push(batch.xs);
        yield batch;
      }
    } finally {
      // Maps of batches the consumer skipped or never reached (it stopped early): free them.
      for (const xs of mine) {
        const p = started.get(xs);
        started.delete(xs);
        if (p) (await p.catch(() => undefined))?.dispose();
      }
    }
  }

  return {
    get,
    batches: (source, set) => (epoch, fromStep) => registered(source(epoch, fromStep), set),
    take: (xs) => {
      const p = started.get(xs);
      started.delete(xs);
      return p;
    },
    bytes: () => bytes,
    maxBytes,
    computed: () => runs,
    served: () => served,
  };
}
