/**
 * TensorFlow's 'same' / 'valid' padding as explicit ONNX pads.
 *
 * TF 'same': out = ceil(in / stride); total = max((out − 1)·stride + (k − 1)·dilation + 1 − in, 0);
 * begin = floor(total / 2), end = total − begin — the odd pixel goes at the END (bottom / right),
 * which ONNX's symmetric-looking `pads` can express only explicitly (auto_pad SAME_UPPER is the same
 * rule, but explicit pads are understood by every runtime). ONNX pads order for 2-D:
 * [top, left, bottom, right] = [x1_begin, x2_begin, x1_end, x2_end].
 */
import { OnnxExportError } from './errors.ts';

export type PaddingMode = 'same' | 'valid';

/** [begin, end] padding of one spatial axis. */
export function axisPads(mode: PaddingMode, size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  if (mode === 'valid') return [0, 0];
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  const begin = Math.floor(total / 2);
  return [begin, total - begin];
}

/** ONNX `pads` for a 2-D window op on an H×W input. */
export function onnxPads2d(
  mode: string,
  [h, w]: [number, number],
  [kh, kw]: [number, number],
  [sh, sw]: [number, number],
  [dh, dw]: [number, number] = [1, 1],
): number[] {
  if (mode !== 'same' && mode !== 'valid') throw new OnnxExportError(`padding '${mode}' is not supported (only 'same' and 'valid')`);
  const [top, bottom] = axisPads(mode, h, kh, sh, dh);
  const [left, right] = axisPads(mode, w, kw, sw, dw);
  return [top, left, bottom, right];
}

/** A tfjs `kernelSize` / `strides` / `dilationRate` config value as [h, w]. */
export function pair(v: unknown, what: string): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) return [v[0], v[1]];
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === 'number') return [v[0], v[0]];
  throw new OnnxExportError(`${what} must be a number or a pair of numbers, got ${JSON.stringify(v)}`);
}
