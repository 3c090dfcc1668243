/**
 * Export a tfjs LayersModel to ONNX (opset 13, IR version 7), written with protobufjs against the
 * ONNX schema (onnxSchema.ts).
 *
 * The exported graph takes exactly the tensor the tfjs model takes (NHWC float32, dynamic batch)
 * and returns the same values: rank-4 tensors are NCHW inside the graph, with one Transpose at each
 * rank-4 input and output (see value.ts). The graph is walked from the outputs back through the
 * layers' inbound nodes; nested models (a functional or Sequential model used as a layer, and fdft's
 * FrozenBackbone) are inlined. BatchNormalization is folded into the preceding Conv where possible
 * (optimize.ts). A layer the exporter cannot write raises `OnnxExportError` naming it and its class.
 *
 *   const bytes = exportOnnx(model);                              // the whole model
 *   const feats = exportOnnx(backbone, { outputLayer: 'features' }); // cut at an inner layer
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dTakesNhwc } from './convLayers.ts';
import { LAYER_CONVERTERS } from './converters.ts';
import { OnnxExportError } from './errors.ts';
import { OnnxGraph, attr, newTrainingBindings } from './onnxGraph.ts';
import { encodeModelProto } from './onnxSchema.ts';
import { type OptimizeStats, optimizeGraph, removeDeadNodes } from './optimize.ts';
import { fromTfjsLayout, NCHW_TO_NHWC, type Shape, toTfjsLayout, type Value } from './value.ts';

export { OnnxExportError } from './errors.ts';

export const ONNX_OPSET = 13;
export const ONNX_IR_VERSION = 7;

export interface ExportOnnxOptions {
  /**
   * Export the model cut at this layer (its output becomes the graph output), e.g. 'features' for
   * a backbone's feature map. May name a layer of a nested model (e.g. inside FDFtNet's frozen
   * backbone); the graph then starts at that nested model's input.
   */
  outputLayer?: string;
  /** Fold BatchNorm / padding into convolutions and drop cancelling transposes (default true). */
  optimize?: boolean;
  /** ONNX graph name (default: the model's name). */
  graphName?: string;
  /** Free text stored in the model's doc_string. */
  docString?: string;
  /**
   * Build a training graph for this batch size (src/train/onnx/trainingGraph.ts): trainable weights
   * become inputs, trainable BatchNormalization uses batch statistics, Dropout a mask input
   * (OnnxGraph.training).
   */
  trainingBatch?: number;
  /** Training graphs: see TrainingBindings.attentionChunkValues. */
  attentionChunkValues?: number;
  /** Training graphs: see TrainingBindings.nchwcBlock. */
  nchwcBlock?: number;
}

export interface OnnxGraphSummary {
  graph: OnnxGraph;
  inputs: Array<{ name: string; shape: Shape }>;
  outputs: Array<{ name: string; shape: Shape }>;
  optimized?: OptimizeStats;
}

type SymbolicTensor = tf.SymbolicTensor;
type LayerNode = tf.layers.Layer['inboundNodes'][number];

/** A model used as a layer, or fdft's FrozenBackbone wrapper: the model whose graph is inlined. */
function innerModel(layer: tf.layers.Layer): tf.LayersModel | undefined {
  if (layer instanceof tf.LayersModel) return layer;
  const wrapped = (layer as unknown as { backbone?: unknown }).backbone;
  if (layer.getClassName() === 'FrozenBackbone' && wrapped instanceof tf.LayersModel) return wrapped;
  return undefined;
}

function asArray<T>(x: T | T[]): T[] {
  return Array.isArray(x) ? x : [x];
}

/** The tfjs output shapes of a node (Node.outputShapes is a Shape or a Shape[]). */
function nodeOutputShapes(node: LayerNode): Shape[] {
  const s = node.outputShapes as Shape | Shape[];
  return Array.isArray(s[0]) || (s.length === 0) ? (s as Shape[]) : [s as Shape];
}

/** Activations that act element by element, so either layout is fine. */
const ELEMENTWISE_ACTIVATIONS = new Set(['linear', 'relu', 'relu6', 'sigmoid', 'tanh']);

/**
 * Whether a layer takes its rank-4 inputs as they come, NHWC or NCHW (see Value.nhwc): element-wise
 * layers, BN in training mode (its batch statistics reduce over whichever axes are not the
 * channel's), SeparableConv2D (its NCHWc reorder reads either), fdft's HardSwish / HardSigmoid, and
 * in training graphs DepthwiseConv2D (as SeparableConv2D; a strided one transposes to NCHW itself),
 * 1x1 Conv2Ds (MatMuls of the NHWC pixels) and stride-1 Conv2Ds of whole NCHWc blocks (their reorder
 * reads either), SelfAttention (NHWC is its [B, N, C]
 * as it lies) and global average pooling (a mean over H and W). Add takes NHWC
 * when all its inputs have one shape: NCHW ones are then transposed to NHWC, which keeps a residual
 * stream NHWC.
 */
function takesNhwc(g: OnnxGraph, layer: tf.layers.Layer, cls: string): boolean {
  switch (cls) {
    case 'ReLU':
    case 'Add':
    case 'SeparableConv2D':
      return true;
    case 'Activation':
      return ELEMENTWISE_ACTIVATIONS.has(String(layer.getConfig().activation));
    case 'BatchNormalization':
      return g.training !== undefined && layer.trainable;
    case 'Conv2D':
      return g.training !== undefined && conv2dTakesNhwc(g, layer.getConfig(), layer.weights[0]!.shape as number[]);
    case 'SelfAttention':
    case 'GlobalAveragePooling2D':
    case 'DepthwiseConv2D':
      return g.training !== undefined;
    case 'HardSwish':
    case 'HardSigmoid':
      return true;
    default:
      return false;
  }
}

class Exporter {
  /** NCHW / NHWC copies of values made for layers that need the other layout (made once each). */
  private readonly relaid = new Map<string, Value>();

  constructor(readonly g: OnnxGraph) {}

  private relayout(v: Value, nhwc: boolean): Value {
    if (v.shape.length !== 4 || Boolean(v.nhwc) === nhwc) return v;
    const key = `${v.name}:${nhwc}`;
    let copy = this.relaid.get(key);
    if (!copy) {
      // An NHWC value is in tfjs' layout: the two helpers of value.ts convert between them.
      copy = nhwc ? { name: toTfjsLayout(this.g, v, v.name), shape: v.shape, nhwc: true } : fromTfjsLayout(this.g, v.name, v.shape, v.name);
      this.relaid.set(key, copy);
    }
    return copy;
  }

  /** The inputs in the layout `layer` takes (see takesNhwc). */
  private laidOut(layer: tf.layers.Layer, cls: string, inputs: Value[]): Value[] {
    if (!inputs.some((v) => v.nhwc)) return inputs;
    if (!takesNhwc(this.g, layer, cls)) return inputs.map((v) => this.relayout(v, false));
    if (cls !== 'Add') return inputs;
    const same = inputs.every((v) => v.shape.length === 4 && v.shape.every((d, i) => d === inputs[0]!.shape[i]));
    return inputs.map((v) => this.relayout(v, same));
  }

  /** Inline `model`'s graph with `inputs` bound to its inputs; returns the values of `outputs`. */
  inline(model: tf.LayersModel, inputs: Value[], outputs: SymbolicTensor[], prefix: string): Value[] {
    if (model.inputs.length !== inputs.length) {
      throw new OnnxExportError(`nested model '${model.name}' takes ${model.inputs.length} inputs, got ${inputs.length}`);
    }
    const memo = new Map<number, Value>();
    model.inputs.forEach((t, i) => memo.set(t.id, inputs[i]!));
    return outputs.map((t) => this.tensor(t, memo, prefix));
  }

  private tensor(t: SymbolicTensor, memo: Map<number, Value>, prefix: string): Value {
    const known = memo.get(t.id);
    if (known) return known;
    const layer = t.sourceLayer;
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node || layer.getClassName() === 'InputLayer') {
      throw new OnnxExportError(`tensor '${t.name}' of layer '${layer.name}' is not computed from the model's inputs`);
    }
    const inputs = node.inputTensors.map((x) => this.tensor(x, memo, prefix));
    const outputs = this.layer(layer, node, inputs, prefix);
    if (outputs.length !== node.outputTensors.length) {
      throw new OnnxExportError(`layer '${layer.name}' (${layer.getClassName()}): produced ${outputs.length} outputs, tfjs has ${node.outputTensors.length}`);
    }
    node.outputTensors.forEach((o, i) => memo.set(o.id, outputs[i]!));
    const v = memo.get(t.id);
    if (!v) throw new OnnxExportError(`internal: tensor '${t.name}' not produced by layer '${layer.name}'`);
    return v;
  }

  private layer(layer: tf.layers.Layer, node: LayerNode, inputs: Value[], prefix: string): Value[] {
    const cls = layer.getClassName();
    const base = `${prefix}${layer.name}`;
    const nested = innerModel(layer);
    if (nested && cls === 'FrozenBackbone' && this.g.training) {
      // Nothing in a frozen backbone trains: inside a training graph it is written as in inference
      // graphs (constant weights, BN on the moving statistics folded into the convs, onnxruntime's
      // pre-packed NCHWc kernels), and autodiff passes it by: no value in it needs a gradient.
      const training = this.g.training;
      this.g.training = undefined;
      try {
        return this.inline(nested, inputs, nested.outputs, `${base}/`);
      } finally {
        this.g.training = training;
      }
    }
    if (nested) return this.inline(nested, inputs, nested.outputs, `${base}/`);
    const convert = LAYER_CONVERTERS[cls];
    if (!convert) {
      throw new OnnxExportError(
        `layer '${layer.name}' of class ${cls} is not supported by the ONNX exporter (supported: ${Object.keys(LAYER_CONVERTERS).join(', ')}, nested models)`,
      );
    }
    try {
      return convert({ g: this.g, layer, config: layer.getConfig(), inputs: this.laidOut(layer, cls, inputs), outputShapes: nodeOutputShapes(node), base });
    } catch (e) {
      const msg = (e as Error).message;
      throw new OnnxExportError(`layer '${layer.name}' (${cls}): ${msg}`, { cause: e });
    }
  }
}

/** Find `name` in `model` or, depth first, in its nested models: the layer and the model holding it. */
function findLayer(model: tf.LayersModel, name: string): { owner: tf.LayersModel; layer: tf.layers.Layer } | undefined {
  for (const l of model.layers) {
    if (l.name === name) return { owner: model, layer: l };
  }
  for (const l of model.layers) {
    const inner = innerModel(l);
    const hit = inner && findLayer(inner, name);
    if (hit) return hit;
  }
  return undefined;
}

/** The symbolic outputs to export: the model's, or those of `outputLayer` (and the model owning it). */
function exportTargets(model: tf.LayersModel, outputLayer: string | undefined): { owner: tf.LayersModel; outputs: SymbolicTensor[] } {
  if (outputLayer === undefined) return { owner: model, outputs: model.outputs };
  const hit = findLayer(model, outputLayer);
  if (!hit) throw new OnnxExportError(`model '${model.name}' has no layer named '${outputLayer}'`);
  const nodes = hit.layer.inboundNodes;
  if (nodes.length !== 1) {
    throw new OnnxExportError(`layer '${outputLayer}' is called ${nodes.length} times in the model; cannot tell which output to export`);
  }
  return { owner: hit.owner, outputs: nodes[0]!.outputTensors };
}

/**
 * Build the ONNX graph of `model` (exposed for inspection and tests; `exportOnnx` encodes it).
 * Throws `OnnxExportError` for unsupported layers or shapes.
 */
export function buildOnnxGraph(model: tf.LayersModel, opts: ExportOnnxOptions = {}): OnnxGraphSummary {
  const g = new OnnxGraph();
  if (opts.trainingBatch !== undefined) g.training = newTrainingBindings(opts.trainingBatch, { attentionChunkValues: opts.attentionChunkValues, nchwcBlock: opts.nchwcBlock });
  const { owner, outputs } = exportTargets(model, opts.outputLayer);
  const inputs: OnnxGraphSummary['inputs'] = [];
  const bound: Value[] = owner.inputs.map((t) => {
    const shape = t.shape.slice() as Shape;
    if (t.dtype !== 'float32') throw new OnnxExportError(`input '${t.name}' is ${t.dtype}; only float32 inputs are exported`);
    const name = g.addInput(t.sourceLayer.name, shape);
    inputs.push({ name, shape });
    // Rank-4 inputs arrive NHWC (as in tfjs) and are kept NCHW inside the graph.
    return fromTfjsLayout(g, name, shape, name);
  });
  const exporter = new Exporter(g);
  const values = exporter.inline(owner, bound, outputs, '');
  const outs: OnnxGraphSummary['outputs'] = [];
  const graphInputNames = new Set(g.inputs.map((i) => i.name));
  values.forEach((v, i) => {
    const base = outputs[i]!.sourceLayer.name;
    let name: string;
    if (v.shape.length === 4 && !v.nhwc) {
      name = g.op('Transpose', [v.name], `${base}/output`, { perm: attr.ints(NCHW_TO_NHWC) }); // named as the output it is
    } else if (v.nhwc || graphInputNames.has(v.name) || g.outputs.some((o) => o.name === v.name)) {
      name = g.op('Identity', [v.name], `${base}/output`);
    } else {
      name = v.name;
    }
    g.addOutput(name, v.shape);
    outs.push({ name, shape: v.shape });
  });
  let optimized: OptimizeStats | undefined;
  if (opts.optimize === false) removeDeadNodes(g); // e.g. a Pad whose only reader was a MaxPool (poolingLayers.ts)
  else optimized = optimizeGraph(g);
  return { graph: g, inputs, outputs: outs, optimized };
}

/** Encode a graph from `buildOnnxGraph` as an ONNX model (protobuf bytes). */
export function encodeOnnxGraph(graph: OnnxGraph, meta: { graphName: string; docString?: string; opset?: number }): Uint8Array {
  return encodeModelProto(
    graph.toModelProto({
      opset: meta.opset ?? ONNX_OPSET,
      // IR version 8 is the first that allows opsets 14–18 (training graphs use 17).
      irVersion: (meta.opset ?? ONNX_OPSET) > ONNX_OPSET ? 8 : ONNX_IR_VERSION,
      producer: 'fdft',
      producerVersion: '0.1.0',
      graphName: meta.graphName,
      docString: meta.docString,
    }),
  );
}

/** The ONNX model (protobuf bytes) of `model` (or of its part up to `opts.outputLayer`). */
export function exportOnnx(model: tf.LayersModel, opts: ExportOnnxOptions = {}): Uint8Array {
  const { graph } = buildOnnxGraph(model, opts);
  return encodeOnnxGraph(graph, { graphName: opts.graphName ?? model.name, docString: opts.docString });
}
