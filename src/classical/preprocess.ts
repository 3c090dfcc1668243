/**
 * Input preprocessing of a feature extractor, applied to RGB bytes 0–255 (Keras
 * `imagenet_utils.preprocess_input` modes, for models converted from Keras / PyTorch):
 *   unit   x / 255                                  fdft backbones (trained on [0, 1] images)
 *   tf     x / 127.5 − 1                            Keras Xception, InceptionV3, MobileNet …
 *   torch  (x / 255 − mean) / std, ImageNet stats   PyTorch-trained models
 *   caffe  RGB → BGR, minus the ImageNet BGR means  Keras VGG16/19, ResNet50 (v1)
 */
import * as tf from '@tensorflow/tfjs';
import { ExtractorError } from './errors.ts';

export const PREPROCESS_MODES = ['unit', 'tf', 'torch', 'caffe'] as const;
export type PreprocessMode = (typeof PREPROCESS_MODES)[number];

export function isPreprocessMode(s: string): s is PreprocessMode {
  return (PREPROCESS_MODES as readonly string[]).includes(s);
}

/** images: float32 NHWC with values 0–255. */
export function preprocessImages(images: tf.Tensor4D, mode: PreprocessMode): tf.Tensor4D {
  return tf.tidy(() => {
    switch (mode) {
      case 'unit':
        return tf.div(images, 255);
      case 'tf':
        return tf.sub(tf.div(images, 127.5), 1);
      case 'torch': {
        const mean = tf.tensor1d([0.485, 0.456, 0.406]);
        const std = tf.tensor1d([0.229, 0.224, 0.225]);
        return tf.div(tf.sub(tf.div(images, 255), mean), std);
      }
      case 'caffe': {
        const bgr = tf.reverse(images, -1);
        return tf.sub(bgr, tf.tensor1d([103.939, 116.779, 123.68]));
      }
      default:
        throw new ExtractorError(`unknown --preprocess '${String(mode)}' (use ${PREPROCESS_MODES.join(', ')})`);
    }
  }) as tf.Tensor4D;
}
