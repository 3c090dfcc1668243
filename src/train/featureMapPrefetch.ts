/**
 * Fine-tuning with the frozen backbone on onnxruntime: the next batch's feature maps are computed
 * while the current step trains the heads (GitHub issue 9). onnxruntime-node's session.run blocks
 * the thread that calls it (1.30: a 5-ms timer does not fire during a run), so the two overlap
 * when the heads train in gradient workers (tfjs, `--train-engine tfjs --workers N`): without this
 * the heads and the backbone take turns and each leaves cores idle. When the heads train on
 * onnxruntime too (the default), both run on this thread in turn and this only reorders them;
 * the backbone in a worker thread beside them was measured and was no faster (BENCHMARKS.md,
 * ninth session): onnxruntime's two threads already keep both cores busy.
 *
 * `batches` wraps an epoch's batch stream so it runs one batch ahead: when the training loop gets
 * batch k, batch k+1 has been taken from the source and its feature maps are being computed.
 * `featureMaps(xs)` hands out that result (or computes it then, for batches that were not
 * prefetched: precise-BN batches, validation). Feature maps are a pure function of the images, so
 * training is identical with or without it; only the timing changes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Batch, EpochBatches } from './loop.ts';

export interface FeatureMapPrefetch {
  /** The feature maps of `xs`: prefetched if `batches` started them, else computed now. The caller owns (disposes) the result. */
  featureMaps(xs: tf.Tensor4D): Promise<tf.Tensor>;
  /** `source`, one batch ahead, starting each batch's feature maps as it is taken. */
  batches(source: EpochBatches): EpochBatches;
  /** Feature maps started and not yet handed out (0 between epochs). */
  pending(): number;
}

export function prefetchFeatureMaps(compute: (xs: tf.Tensor4D) => Promise<tf.Tensor>): FeatureMapPrefetch {
  const started = new Map<tf.Tensor, Promise<tf.Tensor>>();

  const start = (xs: tf.Tensor4D) => {
    const p = compute(xs);
    p.catch(() => {}); // a failure surfaces when the step awaits it, not as an unhandled rejection
    started.set(xs, p);
  };

  /** Forgets a batch that will never be trained on (loop stopped early), disposing what was computed. */
  const drop = async (batch: Batch) => {
    const p = started.get(batch.xs);
    started.delete(batch.xs);
    batch.xs.dispose();
    batch.ys.dispose();
    if (p) (await p.catch(() => undefined))?.dispose();
  };

  async function* ahead(source: Iterable<Batch> | AsyncIterable<Batch>): AsyncGenerator<Batch> {
    let held: Batch | undefined;
    try {
      for await (const batch of source) {
        start(batch.xs);
        const out = held; // the loop owns it once yielded
        held = batch;
        if (out) yield out;
      }
      if (held) {
        const out = held;
        held = undefined;
        yield out;
      }
    } finally {
      if (held) await drop(held); // interrupted (Ctrl-C) or failed: the batch taken ahead is not trained on
    }
  }

  return {
    async featureMaps(xs) {
      const p = started.get(xs);
      if (!p) return compute(xs);
      started.delete(xs);
      return p;
    },
    batches: (source) => (epoch, fromStep) => ahead(source(epoch, fromStep)),
    pending: () => started.size,
  };
}
