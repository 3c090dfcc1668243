/** The contract of a per-layer-class ONNX converter. */
import type * as tf from '@tensorflow/tfjs';
import { OnnxExportError } from './errors.ts';
import type { OnnxGraph } from './onnxGraph.ts';
import type { Shape, Value } from './value.ts';

export interface ConvertArgs {
  g: OnnxGraph;
  layer: tf.layers.Layer;
  /** `layer.getConfig()`. */
  config: tf.serialization.ConfigDict;
  /** The layer's inputs, already in the graph (rank-4 ones NCHW, see value.ts). */
  inputs: Value[];
  /** The tfjs output shapes of this call of the layer. */
  outputShapes: Shape[];
  /** Name prefix for everything this layer adds (its name, prefixed inside nested models). */
  base: string;
}

/** Adds the layer's computation to the graph and returns its outputs. */
export type LayerConverter = (a: ConvertArgs) => Value[];

/** The single input of a one-input layer. */
export function oneInput(a: ConvertArgs): Value {
  if (a.inputs.length !== 1) throw new OnnxExportError(`expected one input, got ${a.inputs.length}`);
  return a.inputs[0]!;
}

/** Refuse channels-first layers: every fdft model is channels-last like tfjs' default. */
export function requireChannelsLast(a: ConvertArgs): void {
  const f = a.config.dataFormat;
  if (f != null && f !== 'channelsLast') throw new OnnxExportError(`dataFormat '${String(f)}' is not supported (only channelsLast)`);
}

/** The rank of the (single) input, or an error when it is not what the layer needs. */
export function requireRank(v: Value, rank: number): void {
  if (v.shape.length !== rank) throw new OnnxExportError(`expected a rank-${rank} input, got shape [${v.shape.map((d) => d ?? '?').join(', ')}]`);
}
