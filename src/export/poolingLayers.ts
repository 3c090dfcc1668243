/**
 * Pooling and padding layers → ONNX MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool / Pad.
 *
 * TF 'same' pooling ignores the padded cells (max over real cells; average divides by the number
 * of real cells), which is ONNX MaxPool's behaviour and AveragePool's with count_include_pad = 0.
 */
import { type LayerConverter, oneInput, requireChannelsLast, requireRank } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';
import { onnxPads2d, pair } from './padding.ts';
import { staticDim, type Value } from './value.ts';

function pool2d(op: 'MaxPool' | 'AveragePool'): LayerConverter {
  return (a) => {
    requireChannelsLast(a);
    const x = oneInput(a);
    requireRank(x, 4);
    const kernel = pair(a.config.poolSize ?? 2, 'poolSize');
    const strides = pair(a.config.strides ?? kernel, 'strides');
    const padding = String(a.config.padding ?? 'valid');
    const hw: [number, number] =
      padding === 'same' ? [staticDim(x.shape, 1, `'same' pooling`), staticDim(x.shape, 2, `'same' pooling`)] : [0, 0];
    const pads = onnxPads2d(padding, hw, kernel, strides);
    if (op === 'MaxPool') {
      const zeroPad = zeroPadBefore(a.g, x.name);
      if (zeroPad) {
        const combined = [0, 1, 2, 3].map((i) => zeroPad.pads[i]! + pads[i]!);
        // onnxruntime refuses pool pads >= kernel; then keep the Pad, made unfusable (see below).
        if (combined.every((p, i) => p < kernel[i % 2]!)) return [maxPoolAfterZeroPad(a, x, zeroPad, kernel, strides, pads)];
        unfusablePad(a.g, x.name);
      }
    }
    const attrs = {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      pads: attr.ints(pads),
      ...(op === 'AveragePool' ? { count_include_pad: attr.int(0) } : {}),
    };
    return [{ name: a.g.op(op, [x.name], a.base, attrs), shape: a.outputShapes[0]! }];
  };
}

/** If `name` is the output of a zero Pad of H and W only: its input and [top, left, bottom, right]. */
function zeroPadBefore(g: OnnxGraph, name: string): { input: string; pads: number[] } | undefined {
  const node = g.nodes.find((n) => n.outputs.includes(name));
  if (!node || node.opType !== 'Pad' || node.inputs.length !== 2) return undefined;
  const p = g.initializers.get(node.inputs[1]!);
  if (!p || !(p.data instanceof BigInt64Array) || p.data.length !== 8) return undefined;
  const v = Array.from(p.data, Number);
  if (v[0] || v[1] || v[4] || v[5]) return undefined;
  return { input: node.inputs[0]!, pads: [v[2]!, v[3]!, v[6]!, v[7]!] };
}

/**
 * Give the zero Pad producing `name` an explicit constant_value of −0.0: the same values (−0 = 0),
 * but onnxruntime's PadFusion only fuses a Pad whose constant bytes are all zero, so the Pad stays.
 */
function unfusablePad(g: OnnxGraph, name: string): void {
  const node = g.nodes.find((n) => n.outputs.includes(name))!;
  node.inputs.push(g.addFloat(`${node.name}/negative_zero`, Float32Array.of(-0), []));
}

/**
 * ZeroPadding2D → MaxPooling2D, written so that no runtime can get it wrong: onnxruntime (1.30)
 * fuses a zero Pad into a following MaxPool's pads, where padding means −∞, not 0 — a different
 * result wherever a window's real values are all negative. Instead: one MaxPool on the unpadded
 * input with both paddings as pads (cells ignored), then Max with a constant that is 0 for the
 * output cells whose window covers a zero-padding cell (so they see the zero, as in tfjs) and the
 * lowest float elsewhere. Exact.
 */
function maxPoolAfterZeroPad(
  a: Parameters<LayerConverter>[0],
  x: Value,
  zp: { input: string; pads: number[] },
  kernel: [number, number],
  strides: [number, number],
  poolPads: number[],
): Value {
  const out = a.outputShapes[0]!;
  const hp = staticDim(x.shape, 1, 'MaxPooling2D after ZeroPadding2D');
  const wp = staticDim(x.shape, 2, 'MaxPooling2D after ZeroPadding2D');
  const ho = staticDim(out, 1, 'MaxPooling2D after ZeroPadding2D');
  const wo = staticDim(out, 2, 'MaxPooling2D after ZeroPadding2D');
  const [zt, zl, zb, zr] = zp.pads as [number, number, number, number];
  const [pt, pl] = poolPads as [number, number, number, number];
  // Does the window of output index i (along one axis) cover a zero-padding cell?
  const touches = (i: number, stride: number, k: number, poolBegin: number, size: number, zBegin: number, zEnd: number) => {
    const first = Math.max(0, i * stride - poolBegin);
    const last = Math.min(size - 1, i * stride - poolBegin + k - 1);
    return first <= last && (first < zBegin || last >= size - zEnd);
  };
  const border = new Float32Array(ho * wo);
  for (let i = 0; i < ho; i++) {
    const row = touches(i, strides[0], kernel[0], pt, hp, zt, zb);
    for (let j = 0; j < wo; j++) {
      border[i * wo + j] = row || touches(j, strides[1], kernel[1], pl, wp, zl, zr) ? 0 : -3.4028234663852886e38;
    }
  }
  const pooled = a.g.op('MaxPool', [zp.input], `${a.base}/pool`, {
    kernel_shape: attr.ints(kernel),
    strides: attr.ints(strides),
    pads: attr.ints([zt + poolPads[0]!, zl + poolPads[1]!, zb + poolPads[2]!, zr + poolPads[3]!]),
  });
  const floor = a.g.addFloat(`${a.base}/zero_pad_floor`, border, [1, 1, ho, wo]);
  return { name: a.g.op('Max', [pooled, floor], a.base), shape: out };
}

export const maxPooling2d = pool2d('MaxPool');
export const averagePooling2d = pool2d('AveragePool');

function globalPool2d(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (a) => {
    requireChannelsLast(a);
    const x = oneInput(a);
    requireRank(x, 4);
    const shape = a.outputShapes[0]!;
    if (x.nhwc && op === 'GlobalAveragePool') {
      // Training graphs: an NHWC value (Value.nhwc) averaged over H and W as it lies, no transpose.
      const keep = shape.length === 4;
      const pooled = a.g.op('ReduceMean', [x.name], keep ? a.base : `${a.base}/pool`, { axes: attr.ints([1, 2]), keepdims: attr.int(keep ? 1 : 0) });
      return [keep ? { name: pooled, shape, nhwc: true } : { name: pooled, shape }];
    }
    const pooled = a.g.op(op, [x.name], `${a.base}/pool`); // [N, C, 1, 1]
    if (shape.length === 4) return [{ name: pooled, shape }]; // keepDims
    return [{ name: a.g.op('Flatten', [pooled], a.base, { axis: attr.int(1) }), shape }];
  };
}

export const globalAveragePooling2d = globalPool2d('GlobalAveragePool');
export const globalMaxPooling2d = globalPool2d('GlobalMaxPool');

/** ZeroPadding2D → Pad (the optimiser folds it into a following Conv's pads). */
export const zeroPadding2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const p = a.config.padding as [[number, number], [number, number]] | undefined;
  if (!Array.isArray(p) || p.length !== 2) throw new OnnxExportError(`unexpected ZeroPadding2D padding ${JSON.stringify(p)}`);
  const [[top, bottom], [left, right]] = p;
  // Pad's pads: [x1_begin … x4_begin, x1_end … x4_end] over N, C, H, W.
  const pads = a.g.addInt64(`${a.base}/pads`, [0, 0, top, left, 0, 0, bottom, right]);
  return [{ name: a.g.op('Pad', [x.name, pads], a.base, { mode: attr.string('constant') }), shape: a.outputShapes[0]! }];
};

/** Cropping2D → Slice of H and W. */
export const cropping2d: LayerConverter = (a) => {
  requireChannelsLast(a);
  const x = oneInput(a);
  requireRank(x, 4);
  const c = a.config.cropping as [[number, number], [number, number]];
  const h = staticDim(x.shape, 1, 'Cropping2D');
  const w = staticDim(x.shape, 2, 'Cropping2D');
  const starts = a.g.addInt64(`${a.base}/starts`, [c[0][0], c[1][0]]);
  const ends = a.g.addInt64(`${a.base}/ends`, [h - c[0][1], w - c[1][1]]);
  const axes = a.g.addInt64(`${a.base}/axes`, [2, 3]);
  return [{ name: a.g.op('Slice', [x.name, starts, ends, axes], a.base), shape: a.outputShapes[0]! }];
};
