/**
 * Per-channel sums of a value over every axis but the channel's, in keepdims form — the
 * statistics of a training-mode BatchNormalization and the sums of its gradient.
 *
 * Where the value is channel last (NHWC activations in Xception's training graphs, rank 2) and has
 * at least MIN_ROWS values per channel, they are one MatMul of a row of ones with the value viewed
 * as [P, C]: onnxruntime (1.30) reduces the leading axes of [P, C] at ~2–3 GB/s, while MLAS' GEMM
 * reads the same values 2–5x faster ([32·29·29, 128] 4.8–7.6 → 2.2–2.6 ms, [32·15·15, 256] 3.9 →
 * 0.7 ms; BENCHMARKS.md, tenth session). Elsewhere, ReduceSum.
 */
import { imageMaskBroadcast, imageMaskRow } from './imageMask.ts';
import { attr, type OnnxGraph } from './onnxGraph.ts';

/**
 * Below this many values per channel a ReduceSum is cheap anyway, and the MatMul's extra nodes cost
 * about what they save (interleaved in whole graphs: the no-FTT step's sums over 128 rows went
 * 2.2 → 3.1 ms).
 */
const MIN_ROWS = 2048;

/** Whether the sums over `axes` of a value of `dims` are written as a MatMul (see the file comment). */
export function sumsAsMatMul(dims: readonly number[], axes: readonly number[]): boolean {
  const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  return axes.length === dims.length - 1 && axes.every((a, i) => a === i) && rows >= MIN_ROWS;
}

/**
 * Σ of `x` (static dims `dims`, batch first) over `axes`, every axis but the channel's, keeping them
 * as 1s. With `masked`, only the images that count (imageMask.ts): the MatMul's row is then the
 * mask repeated per image instead of ones, the reduction's input the value times the mask. The
 * MatMul form shares one row per row count in the graph.
 */
export function reducePerChannel(g: OnnxGraph, x: string, dims: readonly number[], axes: readonly number[], base: string, masked = false): string {
  if (!sumsAsMatMul(dims, axes)) {
    const input = masked ? g.op('Mul', [x, imageMaskBroadcast(g, dims.length)], `${base}/masked`) : x;
    return g.op('ReduceSum', [input, g.addInt64(`${base}/axes`, [...axes])], `${base}/sum`, { keepdims: attr.int(1) });
  }
  const c = dims[dims.length - 1]!;
  const p = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const onesName = `channel_sums/ones_${p}`;
  const row = masked ? imageMaskRow(g, p) : g.initializers.has(onesName) ? onesName : g.addFloat(onesName, new Float32Array(p).fill(1), [1, p]);
  const rows = dims.length === 2 ? x : g.op('Reshape', [x, g.addInt64(`${base}/rows`, [p, c])], `${base}/rows`);
  const sums = g.op('MatMul', [row, rows], `${base}/sum`);
  return dims.length === 2 ? sums : g.op('Reshape', [sums, g.addInt64(`${base}/keepdims`, [...dims.slice(0, -1).map(() => 1), c])], `${base}/keepdims`);
}
