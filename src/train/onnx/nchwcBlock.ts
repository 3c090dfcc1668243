/**
 * Whether the running onnxruntime has the NCHWc kernels that training graphs use for depthwise
 * convs (src/export/nchwc.ts), and their channel block (16 with AVX-512, 8 with AVX2; none on CPUs
 * without, where onnxruntime registers no NCHWc kernels). Those ops are onnxruntime internals — the
 * target of its own graph optimiser, not a published operator set — so the probe checks behaviour,
 * not only presence: a depthwise conv written with them must equal the same conv computed here;
 * otherwise training graphs keep plain Convs. `FDFT_ONNX_NCHWC=0` turns them off.
 */
import { OnnxRunner } from '../../engine/onnxBackbone.ts';
import { NCHWC_DOMAIN, nchwcDepthwise } from '../../export/nchwc.ts';
import { attr, newTrainingBindings, OnnxGraph } from '../../export/onnxGraph.ts';
import { encodeOnnxGraph } from '../../export/onnx.ts';
import { TRAINING_OPSET } from './trainingGraph.ts';

let probed: Promise<number | undefined> | undefined;

/** The block size onnxruntime's ReorderInput pads 4 channels to. */
async function reorderBlock(): Promise<number> {
  const g = new OnnxGraph();
  const x = g.addInput('x', [1, 4, 1, 1]);
  g.addOutput(g.domainOp(NCHWC_DOMAIN, 'ReorderInput', [x], 'y', { channels_last: attr.int(0) }), [1, null, 1, 1]);
  const runner = await OnnxRunner.create(encodeOnnxGraph(g, { graphName: 'nchwc-probe', opset: TRAINING_OPSET }), { threads: 1 });
  try {
    const out = Object.values(await runner.runFeeds({ [x]: { data: new Float32Array(4), dims: [1, 4, 1, 1] } }))[0]!;
    return out.dims[1]!;
  } finally {
    await runner.dispose();
  }
}

/** A 3x3 'same' depthwise conv over more channels than one block on the NCHWc kernels, against a direct loop. */
async function depthwiseAgrees(block: number): Promise<boolean> {
  const [c, h, w] = [block + 4, 5, 6];
  const x = Float32Array.from({ length: c * h * w }, (_, i) => ((i * 37) % 23) / 23 - 0.5);
  const k = Float32Array.from({ length: 9 * c }, (_, i) => ((i * 53) % 29) / 29 - 0.5); // tfjs [3, 3, C, 1]
  const g = new OnnxGraph();
  g.training = newTrainingBindings(1, { nchwcBlock: block });
  const input = g.addInput('x', [1, c, h, w]);
  const y = nchwcDepthwise(g, { x: input, channels: c, kernel: { data: k, shape: [3, 3, c, 1] }, pads: [1, 1, 1, 1], output: 'nchw', base: 'dw' });
  g.addOutput(y, [1, c, h, w]);
  const runner = await OnnxRunner.create(encodeOnnxGraph(g, { graphName: 'nchwc-probe', opset: TRAINING_OPSET }), { threads: 1 });
  try {
    const got = Object.values(await runner.runFeeds({ [input]: { data: x, dims: [1, c, h, w] } }))[0]!.data;
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < w; j++) {
          let want = 0;
          for (let di = 0; di < 3; di++) {
            for (let dj = 0; dj < 3; dj++) {
              const [yi, xj] = [i + di - 1, j + dj - 1];
              if (yi >= 0 && yi < h && xj >= 0 && xj < w) want += x[(ch * h + yi) * w + xj]! * k[(di * 3 + dj) * c + ch]!;
            }
          }
          if (Math.abs(got[(ch * h + i) * w + j]! - want) > 1e-4) return false;
        }
      }
    }
    return true;
  } finally {
    await runner.dispose();
  }
}

/** Whether `FDFT_ONNX_NCHWC=0` turns the NCHWc kernels off. */
export const nchwcTurnedOff = (): boolean => process.env.FDFT_ONNX_NCHWC === '0';

/** The NCHWc block size where those kernels work here, else undefined (probed once per process). */
export function nchwcBlockSize(): Promise<number | undefined> {
  if (nchwcTurnedOff()) return Promise.resolve(undefined);
  probed ??= (async () => {
    try {
      const block = await reorderBlock();
      return block > 1 && (await depthwiseAgrees(block)) ? block : undefined;
    } catch {
      return undefined; // no such kernels in this build (or no onnxruntime): plain Convs
    }
  })();
  return probed;
}
