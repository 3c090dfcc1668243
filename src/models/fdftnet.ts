/**
 * FDFtNet (Jeon, Bang, Woo 2020, Fig. 2): a frozen pre-trained backbone + two fine-tuned heads.
 *
 *   image ─► backbone (frozen, inference mode) ─► feature map ─► MB head (N × MBblockV3) ─► 576 ┐
 *   image ─► Fine-Tune Transformer (M stages, self-attention) ───────────────────────────► 576 ┴─ add ─► Dense(2) softmax
 *
 * `useFtt: false` drops the FTT path (the paper's Table 6 ablation). L2 (default 1e-5) on every conv
 * and dense kernel of the heads.
 *
 * Three views of ONE network, sharing the same layer objects and weights:
 *   - `model`:    image → softmax(2). Save / evaluate / predict this one. Its backbone is wrapped in
 *                 `FrozenBackbone`, so even `model.fit` keeps BN in inference mode and trains only the heads.
 *   - `backbone`: image → feature map, trainable = false. Training loops call `backbone.predict(x)`.
 *   - `head`:     [image, featureMap] → softmax(2): every trainable weight. Train this on
 *                 `[x, backbone.predict(x)]`; `model` then predicts with the trained heads.
 */
import * as tf from '@tensorflow/tfjs';
import { FineTuneTransformer } from '../../layers/fineTuneTransformer.ts';
import { FrozenBackbone } from '../../layers/frozenBackbone.ts';
import { MBHead } from '../../layers/mbHead.ts';
import { SelectInput } from '../../layers/selectInput.ts';
import { l2Regularizer } from '../../layers/seeds.ts';
import { type BackboneName, createBackbone, featureExtractor } from './backbones/index.ts';
import { ModelConfigError } from './errors.ts';

export interface FdftNetOptions {
  /** A backbone name (fresh weights) or a pre-trained backbone classifier / feature model (weights reused). */
  backbone: BackboneName | tf.LayersModel;
  /** FTT stages M (paper: 3). */
  M?: number;
  /** MBblockV3 count N (paper: 4). */
  N?: number;
  /** Include the Fine-Tune Transformer (default true; false = Table 6 ablation). */
  useFtt?: boolean;
  /** L2 factor on head kernels (paper: 1e-5). */
  l2?: number;
  /** Projection width of the MB blocks (paper: 128). */
  bottleneck?: number;
  /** Self-attention channel reduction b of the FTT (paper eq. 1: f, g have C/b channels; b = 8). */
  attentionReduction?: number;
  /** Input size in pixels (default 64; taken from the backbone when one is given). */
  inputSize?: number;
  /** Seed for reproducible initial weights (heads, and the backbone when built by name). */
  seed?: number;
}

export interface FdftNet {
  /** image → softmax(2): the whole network, for save / eval / predict. */
  model: tf.LayersModel;
  /** image → frozen feature map, run in inference mode. */
  backbone: tf.LayersModel;
  /** [image, featureMap] → softmax(2): every trainable weight; shares layers with `model`. */
  head: tf.LayersModel;
}

/** Names of the parts inside `model`, used to recover them after loading. */
export const FDFT_LAYER_NAMES = { backbone: 'backbone', head: 'fdftnet_head' } as const;
/** Width the FTT and the MB head both output (Tables 2 and 3). */
export const FDFT_WIDTH = 576;

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new ModelConfigError(`${what} must be a positive integer, got ${v}`);
  return v;
}

function resolveBackbone(opts: FdftNetOptions): tf.LayersModel {
  const b = opts.backbone;
  if (typeof b === 'string') {
    return createBackbone(b, { inputSize: opts.inputSize ?? 64, includeTop: false, seed: opts.seed });
  }
  if (!(b instanceof tf.LayersModel)) {
    throw new ModelConfigError('`backbone` must be a backbone name or a tf.LayersModel');
  }
  const features = featureExtractor(b);
  const shape = features.inputs[0]?.shape;
  if (features.inputs.length !== 1 || !shape || shape.length !== 4 || shape[3] !== 3 || shape[1] !== shape[2]) {
    throw new ModelConfigError(`the backbone must take one square RGB image input, got [${shape?.join(', ')}]`);
  }
  if (opts.inputSize !== undefined && shape[1] !== opts.inputSize) {
    throw new ModelConfigError(`inputSize ${opts.inputSize} does not match the backbone's input ${shape[1]}x${shape[2]}`);
  }
  return features;
}

export function createFdftNet(opts: FdftNetOptions): FdftNet {
  const M = positiveInt(opts.M ?? 3, 'M (FTT stages)');
  const N = positiveInt(opts.N ?? 4, 'N (MB blocks)');
  const useFtt = opts.useFtt ?? true;
  const l2 = opts.l2 ?? 1e-5;
  if (!(l2 >= 0)) throw new ModelConfigError(`l2 must be >= 0, got ${opts.l2}`);
  const bottleneck = positiveInt(opts.bottleneck ?? 128, 'bottleneck');
  const headSeed = opts.seed === undefined ? undefined : opts.seed + 100_000;

  const backbone = resolveBackbone(opts);
  backbone.trainable = false;
  const size = backbone.inputs[0]!.shape[1] as number;
  const fmShape = backbone.outputs[0]!.shape.slice(1) as number[];
  if (fmShape.length !== 3) {
    throw new ModelConfigError(`the backbone must output a feature map [h, w, c], got [${fmShape.join(', ')}]`);
  }

  // The head: every trainable layer.
  const headImage = tf.input({ shape: [size, size, 3], name: 'head_image' });
  const headFeatures = tf.input({ shape: fmShape, name: 'head_feature_map' });
  const mb = new MBHead({ blocks: N, width: FDFT_WIDTH, bottleneck, l2, seed: headSeed });
  let merged = mb.apply(headFeatures);
  if (useFtt) {
    const ftt = new FineTuneTransformer({ stages: M, outChannels: FDFT_WIDTH, l2, reduction: opts.attentionReduction, seed: headSeed === undefined ? undefined : headSeed + 10_000 });
    merged = tf.layers.add({ name: 'fdft_add' }).apply([merged, ftt.apply(headImage)]) as tf.SymbolicTensor;
  } else {
    // Keep the [image, featureMap] signature: the image input must stay in the graph to be saved.
    merged = new SelectInput({ index: 1, name: 'fdft_no_ftt' }).apply([headImage, merged]) as tf.SymbolicTensor;
  }
  const probs = tf.layers
    .dense({
      name: 'fdft_classifier',
      units: 2,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: headSeed === undefined ? undefined : headSeed + 20_000 }),
      kernelRegularizer: l2Regularizer(l2),
    })
    .apply(merged) as tf.SymbolicTensor;
  const head = tf.model({ inputs: [headImage, headFeatures], outputs: probs, name: FDFT_LAYER_NAMES.head });

  // The whole network: image → frozen backbone (inference mode) → head.
  const image = tf.input({ shape: [size, size, 3], name: 'image' });
  const featureMap = new FrozenBackbone({ backbone, name: FDFT_LAYER_NAMES.backbone }).apply(image) as tf.SymbolicTensor;
  const out = head.apply([image, featureMap]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: image, outputs: out, name: 'fdftnet' });
  return { model, backbone, head };
}

/** Recover `{ model, backbone, head }` from an FDFtNet `model` (e.g. one returned by `loadModel`). */
export function fdftNetFromModel(model: tf.LayersModel): FdftNet {
  let wrapper: tf.layers.Layer;
  let head: tf.layers.Layer;
  try {
    wrapper = model.getLayer(FDFT_LAYER_NAMES.backbone);
    head = model.getLayer(FDFT_LAYER_NAMES.head);
  } catch {
    throw new ModelConfigError(`model '${model.name}' is not an FDFtNet (no '${FDFT_LAYER_NAMES.backbone}' / '${FDFT_LAYER_NAMES.head}' layers)`);
  }
  if (!(wrapper instanceof FrozenBackbone) || !(head instanceof tf.LayersModel)) {
    throw new ModelConfigError(`model '${model.name}' is not an FDFtNet (its parts have the wrong types)`);
  }
  return { model, backbone: wrapper.backbone, head };
}

export interface ParamCounts {
  total: number;
  trainable: number;
  frozen: number;
}

/** Parameter counts of a model: total / trainable / frozen (non-trainable, incl. BN statistics). */
export function paramCounts(model: tf.LayersModel): ParamCounts {
  const size = (ws: tf.LayerVariable[]) => ws.reduce((s, w) => s + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  const trainable = size(model.trainableWeights);
  const frozen = size(model.nonTrainableWeights);
  return { total: trainable + frozen, trainable, frozen };
}

/**
 * Sum of the L2 penalties of the head kernels, for custom training loops (tfjs' `fit` adds it
 * itself). Returns a scalar 0 when there is none.
 */
export function regularizationLoss(model: tf.LayersModel): tf.Scalar {
  return tf.tidy(() => {
    const losses = model.calculateLosses();
    return losses.length ? (tf.addN(losses) as tf.Scalar) : tf.scalar(0);
  });
}
