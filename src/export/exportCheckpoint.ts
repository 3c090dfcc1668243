/** `fdft export`: find a run's saved model, write it as ONNX, check it against tfjs. */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OnnxExportError } from './errors.ts';
import { ONNX_OPSET, buildOnnxGraph, encodeOnnxGraph } from './onnx.ts';
import type { Shape } from './value.ts';
import { type Agreement, compareOnnxWithTfjs } from './verify.ts';

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * The folder holding the model.json to export: `ref` itself when it holds one, else the run `ref`
 * (a path, a run name under `checkpoints`, or a unique prefix) and its best/ or checkpoint/ weights.
 */
export async function locateModelDir(
  ref: string,
  opts: { checkpoints?: string; from?: 'auto' | 'best' | 'checkpoint' } = {},
): Promise<string> {
  if (await isFile(join(ref, 'model.json'))) return ref;
  const { resolveRunDir } = await import('../train/runDir.ts');
  const { readableDir } = await import('../util/atomic.ts');
  const run = await resolveRunDir(ref, opts.checkpoints ?? 'checkpoints');
  const from = opts.from ?? 'auto';
  const candidates = from === 'auto' ? ['best', 'checkpoint'] : [from];
  for (const c of candidates) {
    const dir = await readableDir(join(run, c));
    if (dir && (await isFile(join(dir, 'model.json')))) return dir;
  }
  throw new OnnxExportError(`${run} holds no saved model (no model.json in ${candidates.map((c) => c + '/').join(' or ')})`);
}

export interface ExportReport {
  onnx: string;
  modelDir: string;
  outputLayer?: string;
  bytes: number;
  nodes: number;
  opset: number;
  inputs: Array<{ name: string; shape: Shape }>;
  outputs: Array<{ name: string; shape: Shape }>;
  foldedBatchNorms: number;
  verify?: Agreement;
}

/** Load the tfjs model in `modelDir`, write `out` (.onnx, atomically), optionally verify it. */
export async function exportCheckpoint(
  modelDir: string,
  out: string,
  opts: { outputLayer?: string; verify?: boolean; threads?: number; log?: (m: string) => void } = {},
): Promise<ExportReport> {
  const { loadModel } = await import('../io/fileSystem.ts');
  const { writeFileAtomic } = await import('../util/atomic.ts');
  const model = await loadModel(modelDir);
  try {
    const summary = buildOnnxGraph(model, { outputLayer: opts.outputLayer });
    const bytes = encodeOnnxGraph(summary.graph, { graphName: model.name, docString: `exported by fdft from ${resolve(modelDir)}` });
    await writeFileAtomic(out, bytes);
    const report: ExportReport = {
      onnx: out,
      modelDir,
      outputLayer: opts.outputLayer,
      bytes: bytes.length,
      nodes: summary.graph.nodes.length,
      opset: ONNX_OPSET,
      inputs: summary.inputs,
      outputs: summary.outputs,
      foldedBatchNorms: summary.optimized?.foldedBatchNorms ?? 0,
    };
    if (opts.verify) {
      const { onnxAvailable, onnxUnavailableReason } = await import('../engine/onnxBackbone.ts');
      if (await onnxAvailable()) {
        report.verify = await compareOnnxWithTfjs(model, bytes, { outputLayer: opts.outputLayer, threads: opts.threads });
      } else {
        opts.log?.(`not verified: ${await onnxUnavailableReason()}`);
      }
    }
    return report;
  } finally {
    model.dispose();
  }
}
