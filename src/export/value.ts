/**
 * A tensor of the graph being exported, and the layout convention of the exporter.
 *
 * tfjs is channels-last (NHWC); ONNX's Conv / pooling / BatchNormalization are channels-first
 * (NCHW). The exporter keeps EVERY rank-4 tensor NCHW inside the ONNX graph (one Transpose at each
 * rank-4 graph input and output, so the exported model takes and returns exactly the tfjs tensors),
 * and every other rank as tfjs has it. `shape` is always the tfjs (NHWC) shape, batch `null`.
 */
import type { OnnxGraph } from './onnxGraph.ts';
import { attr } from './onnxGraph.ts';
import { OnnxExportError } from './errors.ts';

export type Shape = Array<number | null>;

export interface Value {
  /** ONNX value name. */
  name: string;
  /** The tfjs shape (channels last), batch dimension `null`. */
  shape: Shape;
  /**
   * Training graphs only: this rank-4 value is laid out NHWC inside the graph, as the pointwise
   * MatMul of a SeparableConv2D writes it. Layers that take either layout keep it (see
   * `takesNhwc` in onnx.ts: BN, ReLU, Add, SeparableConv2D), so Xception's blocks run without
   * NCHW ↔ NHWC transposes; every other layer gets it transposed to NCHW first.
   */
  nhwc?: boolean;
}

export const NHWC_TO_NCHW = [0, 3, 1, 2];
export const NCHW_TO_NHWC = [0, 2, 3, 1];

/** Where tfjs axis `axis` of a tensor of rank `rank` lives inside the ONNX graph. */
export function internalAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new OnnxExportError(`axis ${axis} is out of range for a rank-${rank} tensor`);
  // NHWC axis → NCHW position: N→0, H→2, W→3, C→1.
  return rank === 4 ? [0, 2, 3, 1][a]! : a;
}

/** The ONNX name of `v` laid out as tfjs has it (NHWC for rank 4: transposed unless it is NHWC already). */
export function toTfjsLayout(g: OnnxGraph, v: Value, base: string): string {
  return v.shape.length === 4 && !v.nhwc ? g.op('Transpose', [v.name], `${base}/to_nhwc`, { perm: attr.ints(NCHW_TO_NHWC) }) : v.name;
}

/** Wrap an ONNX name holding a tensor in tfjs layout as a Value (transposing rank 4 to NCHW). */
export function fromTfjsLayout(g: OnnxGraph, name: string, shape: Shape, base: string): Value {
  return {
    name: shape.length === 4 ? g.op('Transpose', [name], `${base}/to_nchw`, { perm: attr.ints(NHWC_TO_NCHW) }) : name,
    shape,
  };
}

/** A static dimension, or a named error when tfjs left it unknown. */
export function staticDim(shape: Shape, axis: number, what: string): number {
  const d = shape[axis];
  if (d == null || d < 0) {
    throw new OnnxExportError(`${what} needs a fixed input size, but dimension ${axis} of [${shape.map((s) => s ?? '?').join(', ')}] is unknown`);
  }
  return d;
}
