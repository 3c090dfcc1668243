/**
 * A tfjs model's training step as one ONNX graph: the model exported in training mode (trainable
 * weights as inputs, BatchNormalization on batch statistics, Dropout masks as inputs; see
 * src/export/onnxGraph.ts TrainingBindings), the loss of `localGradients` (mean categorical
 * cross-entropy of the clipped softmax outputs, src/train/loop.ts) and the gradient of that loss
 * with respect to every trainable weight (autodiff.ts). L2 weight decay is left to the caller,
 * which holds the weights anyway.
 *
 * The graph is built for one batch size (static shapes: onnxruntime plans memory once and every
 * gradient rule knows its shapes). A smaller batch runs in it padded: the [batch] input `imageMask`
 * (1 for an image that counts, 0 for padding) masks the padding out of the loss, the BN statistics
 * and the gradients (src/export/imageMask.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { buildOnnxGraph, encodeOnnxGraph, OnnxExportError } from '../../export/onnx.ts';
import { attr, type BatchStatistics, type DropoutMask, type OnnxGraph } from '../../export/onnxGraph.ts';
import { imageMask, inverseMaskedCount } from '../../export/imageMask.ts';
import { removeDeadNodes } from '../../export/optimize.ts';
import { addGradients } from './autodiff.ts';
import { OnnxTrainingError } from './errors.ts';

/** Opset of training graphs: ScatterElements' reduction (MaxPool's gradient) needs 16. */
export const TRAINING_OPSET = 17;

/** Keras' clipping of probabilities inside the cross-entropy (as `crossEntropy` in loop.ts). */
const PROB_EPSILON = 1e-7;

export interface TrainingGraph {
  graph: OnnxGraph;
  batch: number;
  /** The model's inputs (tfjs layout, NHWC for images), in the model's order. */
  modelInputs: Array<{ name: string; dims: number[] }>;
  /** One-hot labels [batch, classes]. */
  labels: string;
  /** The [batch] image mask: 1 for the images that count, 0 for a smaller batch's padding. */
  imageMask: string;
  /** The model's output (softmax probabilities). */
  probs: string;
  /** Scalar loss (without L2). */
  loss: string;
  /**
   * Trainable weights: the graph input fed with the variable's value (declared as `dims`, its
   * shape or a reshape of it: TrainableInput) and the output holding its gradient, also `dims`
   * ('' without gradients).
   */
  trainables: Array<{ input: string; gradient: string; variable: tf.LayerVariable; dims: number[] }>;
  batchStatistics: BatchStatistics[];
  dropoutMasks: DropoutMask[];
}

export interface TrainingGraphOptions {
  /** Self-attention batch chunking (see fdftLayers.ts ATTENTION_CHUNK_VALUES); tests make it small. */
  attentionChunkValues?: number;
  /**
   * false: the forward pass in training mode only (loss, outputs, BN batch statistics), no gradient
   * nodes — what precise BatchNorm needs (a third of the step's work).
   */
  gradients?: boolean;
  /** Write depthwise convs on onnxruntime's NCHWc kernels with this channel block (nchwcBlock.ts probes it); undefined = plain Convs. */
  nchwcBlock?: number;
}

export function buildTrainingGraph(model: tf.LayersModel, batch: number, opts: TrainingGraphOptions = {}): TrainingGraph {
  if (!Number.isInteger(batch) || batch < 1) throw new OnnxTrainingError(`batch must be a positive integer, got ${batch}`);
  let exported: ReturnType<typeof buildOnnxGraph>;
  try {
    exported = buildOnnxGraph(model, { trainingBatch: batch, attentionChunkValues: opts.attentionChunkValues, nchwcBlock: opts.nchwcBlock });
  } catch (e) {
    if (e instanceof OnnxExportError) throw new OnnxTrainingError(e.message, { cause: e });
    throw e;
  }
  const { graph: g, inputs, outputs } = exported;
  const bindings = g.training!;
  if (bindings.trainables.length === 0) throw new OnnxTrainingError(`model '${model.name}' has no trainable weights`);
  if (outputs.length !== 1 || outputs[0]!.shape.length !== 2) {
    throw new OnnxTrainingError(`model '${model.name}' must have one [batch, classes] output to be trained on onnxruntime`);
  }
  for (const io of g.inputs) if (io.dims[0] == null) io.dims[0] = batch;
  for (const m of bindings.dropoutMasks) m.dims[0] = batch;

  const probs = outputs[0]!.name;
  const classes = outputs[0]!.shape[1];
  if (classes == null) throw new OnnxTrainingError('the model output needs a fixed number of classes');
  const labels = g.addInput('labels', [batch, classes]);
  // loss = −mean_b Σ_k y·log(clip(p, ε, 1 − ε)), the mean over the images that count (imageMask.ts)
  const scalar = (base: string, v: number) => g.addFloat(base, Float32Array.of(v), []);
  const clipped = g.op('Clip', [probs, scalar('loss/min', PROB_EPSILON), scalar('loss/max', 1 - PROB_EPSILON)], 'loss/clip');
  const logLik = g.op('Mul', [labels, g.op('Log', [clipped], 'loss/log')], 'loss/log_lik');
  const perImage = g.op('ReduceSum', [logLik, g.addInt64('loss/classes', [1])], 'loss/per_image', { keepdims: attr.int(0) });
  const maskedSum = g.op('ReduceSum', [g.op('Mul', [perImage, imageMask(g)], 'loss/masked'), g.addInt64('loss/batch', [0])], 'loss/sum', { keepdims: attr.int(0) });
  const loss = g.op('Neg', [g.op('Mul', [maskedSum, inverseMaskedCount(g, 1)], 'loss/mean')], 'loss');
  g.addOutput(loss, []);

  const grads = opts.gradients === false ? [] : addGradients(g, loss, bindings.trainables.map((t) => t.input));
  const trainables = bindings.trainables.map((t, i) => {
    const gradient = grads[i] ?? '';
    if (gradient) g.addOutput(gradient, t.dims);
    return { input: t.input, gradient, variable: t.variable, dims: t.dims };
  });
  // Gradient rules may leave values nothing reads (softmaxGradientFromProduct replaces the
  // product rule's dY): onnxruntime would still compute them.
  removeDeadNodes(g);
  return {
    graph: g,
    batch,
    modelInputs: inputs.map((io, i) => ({ name: io.name, dims: g.inputs[i]!.dims as number[] })),
    labels,
    imageMask: imageMask(g),
    probs,
    loss,
    trainables,
    batchStatistics: bindings.batchStatistics,
    dropoutMasks: bindings.dropoutMasks,
  };
}

/** The graph as ONNX bytes (opset TRAINING_OPSET). */
export function encodeTrainingGraph(t: TrainingGraph, name: string): Uint8Array {
  return encodeOnnxGraph(t.graph, { graphName: `${name}-training`, docString: 'fdft training step: loss and gradients', opset: TRAINING_OPSET });
}
