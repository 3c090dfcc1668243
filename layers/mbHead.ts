/**
 * The MB head of FDFtNet (paper §3.3, Table 3): on the frozen backbone's feature map,
 * N MBblockV3 (default 4; the first 3x3 stride 2, the others 5x5 stride 1 with residual),
 * then 1x1 conv to 576 (no bias), BN, h-swish, global average pooling → a 576-d vector.
 */
import * as tf from '@tensorflow/tfjs';
import { HardSwish } from './hardSwish.ts';
import { LayerInputError } from './layerArgs.ts';
import { MBBlockV3 } from './mbBlockV3.ts';
import { SeedSequence, l2Regularizer } from './seeds.ts';

export interface MBHeadOptions {
  /** Number of MBblockV3 N (paper: 4). */
  blocks?: number;
  /** Expanded width inside the blocks and width of the output vector (paper: 576). */
  width?: number;
  /** Projection (bottleneck) width of the blocks (paper: 128). */
  bottleneck?: number;
  l2?: number;
  /** Layer-name prefix (default 'mb'). */
  prefix?: string;
  seed?: number;
}

export class MBHead {
  readonly blocks: MBBlockV3[];
  private readonly head: tf.layers.Layer[];

  constructor(opts: MBHeadOptions = {}) {
    const n = opts.blocks ?? 4;
    if (!Number.isInteger(n) || n < 1) throw new LayerInputError(`the MB head needs N >= 1 blocks, got ${opts.blocks}`);
    const width = opts.width ?? 576;
    const l2 = opts.l2 ?? 1e-5;
    const p = opts.prefix ?? 'mb';
    const seeds = new SeedSequence(opts.seed);
    this.blocks = Array.from(
      { length: n },
      (_, i) =>
        new MBBlockV3({
          prefix: `${p}${i + 1}`,
          kernelSize: i === 0 ? 3 : 5,
          strides: i === 0 ? 2 : 1,
          expandChannels: width,
          outChannels: opts.bottleneck ?? 128,
          l2,
          seeds,
        }),
    );
    this.head = [
      tf.layers.conv2d({
        name: `${p}_conv`,
        filters: width,
        kernelSize: 1,
        padding: 'valid',
        useBias: false,
        kernelInitializer: seeds.glorotUniform(),
        kernelRegularizer: l2Regularizer(l2),
      }),
      tf.layers.batchNormalization({ name: `${p}_bn` }),
      new HardSwish({ name: `${p}_hswish` }),
      tf.layers.globalAveragePooling2d({ name: `${p}_gap` }),
    ];
  }

  /** Every layer of the head, in graph order (complete once `apply` has run). */
  get layers(): tf.layers.Layer[] {
    return [...this.blocks.flatMap((b) => b.layers), ...this.head];
  }

  /** Apply to a feature map [batch, h, w, c] → [batch, width]. */
  apply(featureMap: tf.SymbolicTensor): tf.SymbolicTensor {
    let x = featureMap;
    for (const b of this.blocks) {
      x = b.apply(x);
    }
    for (const l of this.head) x = l.apply(x) as tf.SymbolicTensor;
    return x;
  }
}
