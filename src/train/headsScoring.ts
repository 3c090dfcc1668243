/**
 * Fine-tuning's validation: FDFtNet's heads on an image set with the frozen backbone's feature maps
 * from the cache (featureMapCache.ts), so that only the heads run every epoch. The same scores as
 * the whole FDFtNet's, which is heads(image, backbone(image)).
 */
import type * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.ts';
import type { FeatureMapCache } from './featureMapCache.ts';
import { scoreImageSet, type PredictFn, type ScoredSet } from './scoring.ts';

/** `heads` takes [images, feature maps] and returns the class probabilities (e.g. SnapshotPredictor.run). */
export async function scoreHeadsOnCachedMaps(
  heads: (inputs: tf.Tensor[]) => Promise<tf.Tensor>,
  cache: FeatureMapCache,
  set: ImageSet,
  batch: number,
): Promise<ScoredSet> {
  const predict: PredictFn = async (xs, images) => {
    if (!images) throw new Error('internal: scoreImageSet gave no image range');
    const maps = await cache.get(set, Array.from({ length: images.end - images.start }, (_, k) => images.start + k), xs);
    try {
      return (await heads([xs, maps])) as tf.Tensor2D;
    } finally {
      maps.dispose();
    }
  };
  return scoreImageSet(predict, set, batch);
}
