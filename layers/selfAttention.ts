/**
 * Self-attention of FDFtNet (paper eq. 1–3, Fig. 3; after SAGAN), for NHWC feature maps.
 *
 *   f(x), g(x) = 1x1 convs with bias to C/b channels (b = 8), h(x) = 1x1 conv with bias to C channels
 *   s_ji = g(x_j) · f(x_i)                       over the N = W·H positions
 *   β_ji = softmax_i(s_ji)                       (eq. 1)
 *   o_j  = Σ_i β_ji h(x_i)                       (eq. 2)
 *   y    = γ·o + x, γ a trainable scalar initialised to 0   (eq. 3)
 *
 * Parameters: 2·(C·C/b + C/b) + C² + C + 1 = 1,321 (C=32), 5,201 (C=64), 20,641 (C=128) — Table 2.
 * The 1x1 convs run as matMuls on the [B·N, C] view (same maths, one GEMM each).
 */
import * as tf from '@tensorflow/tfjs';
import { attention } from './attentionCore.ts';
import { type Kwargs, type LayerArgs, LayerInputError, type Shape, singleTensor } from './layerArgs.ts';

export interface SelfAttentionArgs extends LayerArgs {
  /** Channel reduction b of f and g (C/b channels). Default 8. */
  reduction?: number;
  /** L2 factor on the f, g, h kernels (0 = none). Default 0. */
  l2?: number;
  /** Seed of the kernels' Glorot-uniform initialiser. */
  seed?: number;
}

export class SelfAttention extends tf.layers.Layer {
  static className = 'SelfAttention';
  /**
   * Largest attention-map chunk, in elements (8 Mi floats = 32 MiB, 8 images at N = 32·32): at batch
   * 128 one whole map would be 512 MiB, past what the wasm heap can address, and chunks this size
   * are also the fastest on 2 cores (cache-friendly). See attentionCore.ts.
   */
  static maxAttentionElements = 2 ** 23;
  readonly reduction: number;
  readonly l2: number;
  readonly seed: number | undefined;
  private fKernel!: tf.LayerVariable;
  private fBias!: tf.LayerVariable;
  private gKernel!: tf.LayerVariable;
  private gBias!: tf.LayerVariable;
  private hKernel!: tf.LayerVariable;
  private hBias!: tf.LayerVariable;
  private gamma!: tf.LayerVariable;

  constructor(args: SelfAttentionArgs = {}) {
    super(args);
    this.reduction = args.reduction ?? 8;
    this.l2 = args.l2 ?? 0;
    this.seed = args.seed;
    if (!Number.isInteger(this.reduction) || this.reduction < 1) {
      throw new LayerInputError(`SelfAttention reduction must be a positive integer, got ${args.reduction}`);
    }
  }

  /** Channels of f and g for C input channels. */
  static reducedChannels(channels: number, reduction = 8): number {
    return Math.max(1, Math.floor(channels / reduction));
  }

  /** Parameter count for C channels: 2(C·C' + C') + C² + C + 1. */
  static paramCount(channels: number, reduction = 8): number {
    const r = SelfAttention.reducedChannels(channels, reduction);
    return 2 * (channels * r + r) + channels * channels + channels + 1;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    if (shape.length !== 4 || shape[3] == null) {
      throw new LayerInputError(`SelfAttention expects a [batch, height, width, channels] input, got [${shape.join(', ')}]`);
    }
    const c = shape[3];
    const r = SelfAttention.reducedChannels(c, this.reduction);
    const reg = this.l2 > 0 ? tf.regularizers.l2({ l2: this.l2 }) : undefined;
    const s = this.seed;
    const glorot = (k: number) => tf.initializers.glorotUniform({ seed: s === undefined ? undefined : s + k });
    // 1x1 conv kernels stored in Conv2D layout [1, 1, C_in, C_out] (as the authors' Keras layer).
    this.fKernel = this.addWeight('kernel_f', [1, 1, c, r], 'float32', glorot(0), reg, true);
    this.gKernel = this.addWeight('kernel_g', [1, 1, c, r], 'float32', glorot(1), reg, true);
    this.hKernel = this.addWeight('kernel_h', [1, 1, c, c], 'float32', glorot(2), reg, true);
    this.fBias = this.addWeight('bias_f', [r], 'float32', tf.initializers.zeros(), undefined, true);
    this.gBias = this.addWeight('bias_g', [r], 'float32', tf.initializers.zeros(), undefined, true);
    this.hBias = this.addWeight('bias_h', [c], 'float32', tf.initializers.zeros(), undefined, true);
    this.gamma = this.addWeight('gamma', [1], 'float32', tf.initializers.zeros(), undefined, true);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = singleTensor(inputs) as tf.Tensor4D;
      const [b, h, w, c] = x.shape;
      const n = h * w;
      const flat = tf.reshape(x, [b * n, c]);
      const conv1x1 = (kernel: tf.LayerVariable, bias: tf.LayerVariable, out: number): tf.Tensor3D =>
        tf.reshape(tf.add(tf.matMul(flat, tf.reshape(kernel.read(), [c, out])), bias.read()), [b, n, out]);
      const r = this.fBias.shape[0]!;
      const f = conv1x1(this.fKernel, this.fBias, r);
      const g = conv1x1(this.gKernel, this.gBias, r);
      const hx = conv1x1(this.hKernel, this.hBias, c);
      // Eq. 1–2, in batch chunks and with a recomputing gradient: see attentionCore.ts.
      const o = attention(f, g, hx, SelfAttention.maxAttentionElements);
      return tf.add(tf.mul(this.gamma.read(), tf.reshape(o, [b, h, w, c])), x); // eq. 3
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { ...super.getConfig(), reduction: this.reduction, l2: this.l2 };
    if (this.seed !== undefined) config.seed = this.seed;
    return config;
  }
}
tf.serialization.registerClass(SelfAttention);
