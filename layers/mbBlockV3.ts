/**
 * MBblockV3, FDFtNet paper §3.3 and Table 3 (MobileNetV3's inverted residual with squeeze-excite):
 *
 *   1x1 conv expand to 576 (no bias), BN, h-swish,
 *   depthwise conv (3x3 stride 2 in the first block, 5x5 stride 1 in the others; no bias), BN,
 *   squeeze-excite on the DEPTHWISE output: GAP → 1x1 conv 576→144, ReLU → 1x1 conv 144→576, hard-sigmoid,
 *     and the gate multiplies the depthwise output,
 *   h-swish, 1x1 projection to 128 (no bias, linear), BN,
 *   + input when stride 1 and the shapes match.
 *
 * (The authors' public code multiplies the gate into the EXPAND output, which throws the depthwise
 * result away; we follow the paper.) The SE convs have no bias, as in the authors' code, so the
 * parameter counts match theirs (82,944 each). L2 (default 1e-5) on every conv kernel.
 * A block builder like `FineTuneTransformer`: named standard layers in the functional graph.
 */
import * as tf from '@tensorflow/tfjs';
import { depthwiseConv2d } from './depthwiseConv2d.ts';
import { HardSigmoid } from './hardSigmoid.ts';
import { HardSwish } from './hardSwish.ts';
import { LayerInputError } from './layerArgs.ts';
import { SeedSequence, l2Regularizer } from './seeds.ts';

export interface MBBlockV3Options {
  /** Depthwise kernel size (paper: 3 in the first block, 5 after). */
  kernelSize: number;
  /** Depthwise stride (paper: 2 in the first block, 1 after). */
  strides: number;
  /** Expanded width (paper: 576). */
  expandChannels?: number;
  /** Output (projection) width (paper: 128). */
  outChannels?: number;
  /** Squeeze-excite bottleneck width (paper: 144 = 576 / 4). */
  seChannels?: number;
  l2?: number;
  /** Layer-name prefix, e.g. 'mb1'. */
  prefix: string;
  /** Seeds for the kernels' initialisers. */
  seeds?: SeedSequence;
}

export class MBBlockV3 {
  readonly layers: tf.layers.Layer[];
  readonly strides: number;
  readonly outChannels: number;
  private readonly l: Record<string, tf.layers.Layer>;

  constructor(o: MBBlockV3Options) {
    if (o.strides !== 1 && o.strides !== 2) throw new LayerInputError(`MBblockV3 stride must be 1 or 2, got ${o.strides}`);
    const expand = o.expandChannels ?? 576;
    this.outChannels = o.outChannels ?? 128;
    this.strides = o.strides;
    const se = o.seChannels ?? Math.round(expand / 4);
    const l2 = o.l2 ?? 1e-5;
    const seeds = o.seeds ?? new SeedSequence();
    const p = o.prefix;
    const conv1x1 = (name: string, filters: number) =>
      tf.layers.conv2d({
        name,
        filters,
        kernelSize: 1,
        padding: 'valid',
        useBias: false,
        kernelInitializer: seeds.glorotUniform(),
        kernelRegularizer: l2Regularizer(l2),
      });
    this.l = {
      expand: conv1x1(`${p}_expand`, expand),
      expandBn: tf.layers.batchNormalization({ name: `${p}_expand_bn` }),
      expandAct: new HardSwish({ name: `${p}_expand_hswish` }),
      dw: depthwiseConv2d({
        name: `${p}_dw`,
        kernelSize: o.kernelSize,
        strides: o.strides,
        padding: 'same',
        useBias: false,
        depthwiseInitializer: seeds.glorotUniform(),
        depthwiseRegularizer: l2Regularizer(l2),
      }),
      dwBn: tf.layers.batchNormalization({ name: `${p}_dw_bn` }),
      seGap: tf.layers.globalAveragePooling2d({ name: `${p}_se_gap` }),
      seReshape: tf.layers.reshape({ name: `${p}_se_reshape`, targetShape: [1, 1, expand] }),
      seReduce: conv1x1(`${p}_se_reduce`, se),
      seRelu: tf.layers.reLU({ name: `${p}_se_relu` }),
      seExpand: conv1x1(`${p}_se_expand`, expand),
      seGate: new HardSigmoid({ name: `${p}_se_hsigmoid` }),
      seMul: tf.layers.multiply({ name: `${p}_se_mul` }),
      act: new HardSwish({ name: `${p}_hswish` }),
      project: conv1x1(`${p}_project`, this.outChannels),
      projectBn: tf.layers.batchNormalization({ name: `${p}_project_bn` }),
      add: tf.layers.add({ name: `${p}_add` }),
    };
    this.layers = Object.values(this.l);
  }

  apply(input: tf.SymbolicTensor): tf.SymbolicTensor {
    const l = this.l;
    const call = (layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]) => layer.apply(x) as tf.SymbolicTensor;
    let x = call(l.expand!, input);
    x = call(l.expandBn!, x);
    x = call(l.expandAct!, x);
    const dw = call(l.dwBn!, call(l.dw!, x));
    let gate = call(l.seReshape!, call(l.seGap!, dw));
    gate = call(l.seGate!, call(l.seExpand!, call(l.seRelu!, call(l.seReduce!, gate))));
    x = call(l.seMul!, [dw, gate]); // gate × depthwise output (broadcast over H, W)
    x = call(l.act!, x);
    x = call(l.projectBn!, call(l.project!, x));
    const inC = input.shape[input.shape.length - 1];
    if (this.strides === 1 && inC === this.outChannels) x = call(l.add!, [input, x]);
    else if (this.layers.includes(l.add!)) this.layers.splice(this.layers.indexOf(l.add!), 1); // no residual: Add unused
    return x;
  }
}
