/**
 * Per-channel sums of a channel-last value over every other axis, written as one MatMul of a row of
 * ones with the value viewed as [P, C] — for the statistics of a training-mode BatchNormalization
 * and the sums of its gradient (on NHWC activations in Xception's training graphs).
 *
 * Why not ReduceSum / ReduceMean: onnxruntime (1.30) reduces the leading axes of [P, C] at ~2–3 GB/s,
 * while MLAS' GEMM reads the same values 2–5x faster: [32·29·29, 128] 4.8–7.6 → 2.2–2.6 ms,
 * [32·15·15, 256] 3.9 → 0.7 ms (BENCHMARKS.md, tenth session).
 */
import type { OnnxGraph } from './onnxGraph.ts';

/**
 * `scale`·Σ of `x` (dims `dims`, channel last, all static) over every axis but the last, in keepdims
 * form [1, …, 1, C]. One ones-row initializer per P is shared by the graph.
 */
export function channelSums(g: OnnxGraph, x: string, dims: readonly number[], base: string, scale = 1): string {
  const c = dims[dims.length - 1]!;
  const p = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  const onesName = `channel_sums/ones_${p}`;
  const ones = g.initializers.has(onesName) ? onesName : g.addFloat(onesName, new Float32Array(p).fill(1), [1, p]);
  const rows = dims.length === 2 ? x : g.op('Reshape', [x, g.addInt64(`${base}/rows`, [p, c])], `${base}/rows`);
  let sums = g.op('MatMul', [ones, rows], `${base}/sum`);
  if (scale !== 1) sums = g.op('Mul', [sums, g.addFloat(`${base}/scale`, Float32Array.of(scale), [])], `${base}/scaled`);
  return dims.length === 2 ? sums : g.op('Reshape', [sums, g.addInt64(`${base}/keepdims`, [...dims.slice(0, -1).map(() => 1), c])], `${base}/keepdims`);
}

const MIN_ROWS = 2048;

/**
 * Whether sums over `axes` of a value of `dims` are written by channelSums: channel last (`axes`
 * every axis but the last) and at least MIN_ROWS values per channel. Below that a ReduceSum is
 * cheap anyway, and the MatMul's extra nodes cost about what they save (interleaved in whole graphs:
 * the no-FTT step's sums over 128 rows went 2.2 → 3.1 ms).
 */
export function sumsAsMatMul(dims: readonly number[], axes: readonly number[]): boolean {
  const rows = dims.slice(0, -1).reduce((a, b) => a * b, 1);
  return axes.length === dims.length - 1 && axes.every((a, i) => a === i) && rows >= MIN_ROWS;
}
