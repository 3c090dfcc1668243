/**
 * Deterministic initialisation: hands out seed, seed+1, seed+2 … to the initialisers of successive
 * layers, so a model built twice with the same seed has identical weights (and no two layers share
 * a random stream). Without a base seed, initialisers stay unseeded (tfjs' random defaults).
 */
import * as tf from '@tensorflow/tfjs';

export class SeedSequence {
  private k = 0;
  constructor(readonly base?: number) {}

  next(): number | undefined {
    return this.base === undefined ? undefined : this.base + this.k++;
  }

  /** Glorot-uniform (the Keras/tfjs default for conv and dense kernels), seeded. */
  glorotUniform(): ReturnType<typeof tf.initializers.glorotUniform> {
    return tf.initializers.glorotUniform({ seed: this.next() });
  }

  /** He-normal, seeded. */
  heNormal(): ReturnType<typeof tf.initializers.heNormal> {
    return tf.initializers.heNormal({ seed: this.next() });
  }
}

/** L2 kernel regulariser, or none for l2 = 0. */
export function l2Regularizer(l2: number): ReturnType<typeof tf.regularizers.l2> | undefined {
  return l2 > 0 ? tf.regularizers.l2({ l2 }) : undefined;
}
