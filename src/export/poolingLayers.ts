/**
 * Pooling and padding layers → ONNX MaxPool / AveragePool / GlobalAveragePool / GlobalMaxPool / Pad.
 *
 * TF 'same' pooling ignores the padded cells (max over real cells; average divides by the number
 * of real cells), which is ONNX MaxPool's behaviour and AveragePool's with count_include_pad = 0.
 */
import { type LayerConverter, oneInput, requireChannelsLast, requireRank } from './converter.ts';
import { OnnxExportError } from './errors.ts';
import { attr } from './onnxGraph.ts';
import { onnxPads2d, pair } from './padding.ts';
import { staticDim } from './value.ts';

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
    const attrs = {
      kernel_shape: attr.ints(kernel),
      strides: attr.ints(strides),
      pads: attr.ints(onnxPads2d(padding, hw, kernel, strides)),
      ...(op === 'AveragePool' ? { count_include_pad: attr.int(0) } : {}),
    };
    return [{ name: a.g.op(op, [x.name], a.base, attrs), shape: a.outputShapes[0]! }];
  };
}

export const maxPooling2d = pool2d('MaxPool');
export const averagePooling2d = pool2d('AveragePool');

function globalPool2d(op: 'GlobalAveragePool' | 'GlobalMaxPool'): LayerConverter {
  return (a) => {
    requireChannelsLast(a);
    const x = oneInput(a);
    requireRank(x, 4);
    const pooled = a.g.op(op, [x.name], `${a.base}/pool`); // [N, C, 1, 1]
    const shape = a.outputShapes[0]!;
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
