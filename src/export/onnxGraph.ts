/**
 * An ONNX graph under construction: nodes, initializers (weights kept as typed arrays until the
 * model is encoded, so that the optimiser can rewrite them), inputs and outputs, unique names.
 * `toModelProto` turns it into the plain object that `encodeModelProto` writes.
 */
import type * as tf from '@tensorflow/tfjs';
import { OnnxAttributeType, OnnxDataType } from './onnxSchema.ts';
import { permute, type Weight } from './weights.ts';

export type AttrValue =
  | { kind: 'int'; value: number }
  | { kind: 'ints'; value: number[] }
  | { kind: 'float'; value: number }
  | { kind: 'floats'; value: number[] }
  | { kind: 'string'; value: string };

/** Typed attribute constructors: ONNX distinguishes INT from FLOAT, JavaScript numbers do not. */
export const attr = {
  int: (value: number): AttrValue => ({ kind: 'int', value }),
  ints: (value: number[]): AttrValue => ({ kind: 'ints', value }),
  float: (value: number): AttrValue => ({ kind: 'float', value }),
  floats: (value: number[]): AttrValue => ({ kind: 'floats', value }),
  string: (value: string): AttrValue => ({ kind: 'string', value }),
};

/** A node's attribute values, or `fallback` where the node does not set them (ONNX defaults). */
export const readAttr = {
  int: <F>(n: OnnxNode, key: string, fallback: F): number | F => {
    const a = n.attrs[key];
    return a && a.kind === 'int' ? a.value : fallback;
  },
  ints: <F>(n: OnnxNode, key: string, fallback: F): number[] | F => {
    const a = n.attrs[key];
    return a && a.kind === 'ints' ? a.value : fallback;
  },
  float: <F>(n: OnnxNode, key: string, fallback: F): number | F => {
    const a = n.attrs[key];
    return a && a.kind === 'float' ? a.value : fallback;
  },
};

export interface OnnxNode {
  opType: string;
  /** Operator set domain; absent = the default ONNX domain (see nchwc.ts for the one other used). */
  domain?: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
}

export type InitializerData = Float32Array | BigInt64Array;

export interface Initializer {
  name: string;
  dims: number[];
  data: InitializerData;
}

/** A graph input or output: float32, `null` dims are dynamic (the batch). */
export interface GraphIo {
  name: string;
  dims: Array<number | null>;
}

/** A trainable tfjs variable fed to a training graph as an input, in its tfjs layout. */
export interface TrainableInput {
  input: string;
  variable: tf.LayerVariable;
  /**
   * The input's declared dims: the variable's shape, or the view the graph uses when that is a
   * pure reshape (a 1x1 kernel [1, 1, in, out] fed as [in, out]). Same values, same order; the
   * graph then needs no Reshape, which onnxruntime runs as a copy for graph inputs and outputs.
   */
  dims: number[];
}

/** A BatchNormalization layer normalising with batch statistics: the graph outputs its batch mean and variance ([C]). */
export interface BatchStatistics {
  layer: tf.layers.Layer;
  mean: string;
  variance: string;
}

/**
 * A training-mode BatchNormalization, y = (x − mean)·invStd·γ + β, whose gradient autodiff writes
 * in closed form (src/train/onnx/batchNormGradient.ts) instead of differentiating its nodes one by
 * one (half the full-size passes). `nodes` are the names of the nodes computing y from x; γ and β
 * are their broadcast-shaped values (absent without scale / center).
 */
export interface BatchNormRegion {
  x: string;
  centred: string;
  invStd: string;
  gamma?: string;
  beta?: string;
  y: string;
  /** The reduced axes (every axis but the channel's). */
  axes: number[];
  /** The scalar 1 / values each statistic averages (images that count × spatial values). */
  invCount: string;
  nodes: string[];
}

/**
 * A softmax whose probabilities feed only the product o = probs·v (self-attention): the softmax's
 * gradient needs rowsum(dprobs ⊙ probs), which equals rowsum(do ⊙ o) — a pass over [N, C] values
 * instead of over the N×N map (src/train/onnx/autodiff.ts; FlashAttention's identity).
 */
export interface SoftmaxProduct {
  probs: string;
  product: string;
}

/** A Dropout layer in training mode: the graph multiplies by `input` (0 or 1/(1 − rate), drawn per step). */
export interface DropoutMask {
  input: string;
  rate: number;
  /** The mask's dims inside the graph (batch first). */
  dims: number[];
}

/**
 * What makes a graph a training graph (src/train/onnx/trainingGraph.ts): trainable weights are
 * inputs instead of initializers, BatchNormalization of trainable layers uses batch statistics,
 * Dropout multiplies by a mask input. Converters record here what they bound.
 */
export interface TrainingBindings {
  /** The batch size the graph is built for (training graphs have static shapes). */
  batch: number;
  /** Self-attention runs in batch chunks of at most this many score values (default ATTENTION_CHUNK_VALUES, fdftLayers.ts). */
  attentionChunkValues?: number;
  /**
   * onnxruntime's NCHWc channel block (16 with AVX-512, 8 with AVX2) when its NCHWc kernels are
   * usable: depthwise convs are then written with them (nchwc.ts); undefined = plain Conv.
   */
  nchwcBlock?: number;
  trainables: TrainableInput[];
  batchStatistics: BatchStatistics[];
  /** Training-mode BN layers whose gradient is written in closed form (see BatchNormRegion). */
  batchNormRegions: BatchNormRegion[];
  /** Self-attention's softmax → product pairs (see SoftmaxProduct). */
  softmaxProducts: SoftmaxProduct[];
  dropoutMasks: DropoutMask[];
  /**
   * The images of the batch that count (the [batch] input `input`) and values derived from it,
   * built once (src/export/imageMask.ts): a smaller batch runs padded, its padding masked out.
   */
  imageMask?: { input: string; derived: Map<string, string> };
}

/** The bindings of a fresh training graph for `batch` (nothing bound yet). */
export function newTrainingBindings(batch: number, opts: Pick<TrainingBindings, 'attentionChunkValues' | 'nchwcBlock'> = {}): TrainingBindings {
  return { batch, ...opts, trainables: [], batchStatistics: [], batchNormRegions: [], softmaxProducts: [], dropoutMasks: [] };
}

/** The nodes reading each value. */
export function consumers(g: OnnxGraph): Map<string, OnnxNode[]> {
  const m = new Map<string, OnnxNode[]>();
  for (const n of g.nodes) {
    for (const i of n.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(n);
      else m.set(i, [n]);
    }
  }
  return m;
}

/** The node writing each value. */
export function producers(g: OnnxGraph): Map<string, OnnxNode> {
  const m = new Map<string, OnnxNode>();
  for (const n of g.nodes) for (const o of n.outputs) m.set(o, n);
  return m;
}

export class OnnxGraph {
  /** Set on training graphs (see TrainingBindings); undefined for the exporter's inference graphs. */
  training?: TrainingBindings;
  readonly nodes: OnnxNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly inputs: GraphIo[] = [];
  readonly outputs: GraphIo[] = [];
  private readonly used = new Set<string>();

  /** A name not used yet in this graph, derived from `base` (ONNX names must be unique). */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.used.has(name); i++) name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  addInput(base: string, dims: Array<number | null>): string {
    const name = this.uniqueName(base);
    this.inputs.push({ name, dims });
    return name;
  }

  addOutput(name: string, dims: Array<number | null>): void {
    this.outputs.push({ name, dims });
  }

  /** A float32 weight. */
  addFloat(base: string, data: Float32Array, dims: number[]): string {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`internal: initializer ${base} has ${data.length} values for dims [${dims}]`);
    const name = this.uniqueName(base);
    this.initializers.set(name, { name, dims, data });
    return name;
  }

  /**
   * A layer's weight, re-laid-out for ONNX: transposed by `perm` (numpy order) when given, then
   * viewed as `dims`. In an inference graph it is an initializer holding the re-laid-out values; in
   * a training graph a trainable variable is a graph input holding the variable's values in their
   * tfjs order: declared as `dims` when that is a mere view (no `perm`), else in the tfjs shape
   * and transposed (then reshaped) by nodes. The gradient the graph returns has the input's dims
   * (TrainableInput.dims), the variable's values in their tfjs order either way.
   */
  addWeight(base: string, w: Weight, dims: number[], perm?: number[]): string {
    const v = w.variable;
    if (!this.training || !v || !v.trainable) {
      return this.addFloat(base, perm ? permute(w.data, w.shape, perm).data : w.data, dims);
    }
    const fed = perm ? w.shape : dims;
    const input = this.addInput(`${base}/var`, fed);
    this.training.trainables.push({ input, variable: v, dims: fed });
    let name = input;
    if (perm) name = this.op('Transpose', [name], `${base}/perm`, { perm: attr.ints(perm) });
    const laidOut = perm ? perm.map((p) => w.shape[p]!) : fed;
    if (laidOut.length !== dims.length || laidOut.some((d, i) => d !== dims[i])) {
      name = this.op('Reshape', [name, this.addInt64(`${base}/dims`, dims)], `${base}/view`);
    }
    return name;
  }

  /** An int64 vector (shapes, pads, axes). */
  addInt64(base: string, values: number[]): string {
    const name = this.uniqueName(base);
    this.initializers.set(name, { name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
    return name;
  }

  /** Append a node; returns its output names (fresh, derived from `base`). */
  add(opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}, outputCount = 1, domain?: string): string[] {
    const outputs = Array.from({ length: outputCount }, (_, i) => this.uniqueName(outputCount === 1 ? base : `${base}:${i}`));
    const node: OnnxNode = { opType, name: this.uniqueName(`${base}/${opType}`), inputs, outputs, attrs };
    if (domain) node.domain = domain;
    this.nodes.push(node);
    return outputs;
  }

  /** Single-output shorthand of `add`. */
  op(opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    return this.add(opType, inputs, base, attrs)[0]!;
  }

  /** A single-output node of a non-default operator set domain (version 1 of it). */
  domainOp(domain: string, opType: string, inputs: string[], base: string, attrs: Record<string, AttrValue> = {}): string {
    return this.add(opType, inputs, base, attrs, 1, domain)[0]!;
  }

  /** The plain ModelProto object (snake_case, as onnx.proto) for `encodeModelProto`. */
  toModelProto(meta: { opset: number; irVersion: number; producer: string; producerVersion: string; graphName: string; docString?: string }) {
    const tensorType = (dims: Array<number | null>) => ({
      tensor_type: {
        elem_type: OnnxDataType.FLOAT,
        shape: { dim: dims.map((d, i) => (d == null ? { dim_param: i === 0 ? 'batch' : `d${i}` } : { dim_value: d })) },
      },
    });
    const attribute = (name: string, a: AttrValue) => {
      switch (a.kind) {
        case 'int':
          return { name, type: OnnxAttributeType.INT, i: a.value };
        case 'ints':
          return { name, type: OnnxAttributeType.INTS, ints: a.value };
        case 'float':
          return { name, type: OnnxAttributeType.FLOAT, f: a.value };
        case 'floats':
          return { name, type: OnnxAttributeType.FLOATS, floats: a.value };
        case 'string':
          return { name, type: OnnxAttributeType.STRING, s: new TextEncoder().encode(a.value) };
      }
    };
    return {
      ir_version: meta.irVersion,
      // Other domains (onnxruntime's com.microsoft.nchwc in training graphs) at version 1, their only one.
      opset_import: [{ domain: '', version: meta.opset }, ...[...new Set(this.nodes.map((n) => n.domain ?? ''))].filter(Boolean).map((domain) => ({ domain, version: 1 }))],
      producer_name: meta.producer,
      producer_version: meta.producerVersion,
      doc_string: meta.docString,
      graph: {
        name: meta.graphName,
        node: this.nodes.map((n) => ({
          name: n.name,
          op_type: n.opType,
          domain: n.domain,
          input: n.inputs,
          output: n.outputs,
          attribute: Object.entries(n.attrs).map(([k, v]) => attribute(k, v)),
        })),
        initializer: [...this.initializers.values()].map((t) => ({
          name: t.name,
          dims: t.dims,
          data_type: t.data instanceof Float32Array ? OnnxDataType.FLOAT : OnnxDataType.INT64,
          // raw_data is little-endian by the ONNX spec, as are the typed arrays of every platform Node runs on.
          raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        })),
        input: this.inputs.map((io) => ({ name: io.name, type: tensorType(io.dims) })),
        output: this.outputs.map((io) => ({ name: io.name, type: tensorType(io.dims) })),
      },
    };
  }
}
