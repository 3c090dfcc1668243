/** `fdft classical predict`: saved extractor + classifier → decision and verdict per image file. */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ClassifierError } from './errors.ts';
import { readClassicalModel } from './classicalModel.ts';
import { loadExtractor } from './extractor.ts';
import { classifierFromJSON } from './registry.ts';

export interface ClassicalPrediction {
  path: string;
  decision?: number;
  /** The classifier's P(fake) (uncalibrated for SVC). */
  fake?: number;
  label?: 'real' | 'fake';
  error?: string;
}

export async function predictClassical(
  modelPath: string,
  inputs: string[],
  opts: { threshold?: string; batch?: number; checkpointsRoot?: string } = {},
): Promise<{ classifier: string; threshold: number; thresholdSource: string; predictions: ClassicalPrediction[] }> {
  const m = await readClassicalModel(modelPath);
  const t = opts.threshold ?? 'tuned';
  const threshold = t === 'tuned' ? m.threshold.tuned : t === 'default' ? m.threshold.default : Number(t);
  if (!Number.isFinite(threshold)) throw new ClassifierError(`--threshold must be tuned, default or a number (got '${t}')`);
  const clf = await classifierFromJSON(m.classifier);
  const ex = await loadExtractor({
    source: m.extractor.source,
    layer: m.extractor.layer,
    inputSize: m.extractor.inputSize,
    preprocess: m.extractor.preprocess as never,
    fit: m.extractor.fit as never,
    checkpointsRoot: opts.checkpointsRoot,
    skipTrainedOn: true,
  });
  try {
    if (ex.dim !== m.nCols) throw new ClassifierError(`the extractor now gives ${ex.dim} features; the classifier was fitted on ${m.nCols}`);
    const { listImageFiles } = await import('../data/walk.ts');
    const { decodeImage } = await import('../data/decode.ts');
    const results: ClassicalPrediction[] = [];
    const files: string[] = [];
    for (const input of inputs) {
      const st = await stat(input).catch((e: NodeJS.ErrnoException) => e);
      if (st instanceof Error) {
        results.push({ path: input, error: `missing: ${st.code ?? st.message}` });
      } else if (st.isDirectory()) {
        const listing = await listImageFiles(input);
        files.push(...listing.files);
        results.push(...listing.skipped.map((s) => ({ path: s.path, error: s.reason })));
      } else files.push(resolve(input));
    }
    const size = ex.info.inputSize;
    const batch = Math.max(1, opts.batch ?? 32);
    for (let i = 0; i < files.length; i += batch) {
      const ok: { path: string; px: Uint8Array }[] = [];
      for (const path of files.slice(i, i + batch)) {
        try {
          ok.push({ path, px: await decodeImage(path, { size, fit: ex.info.fit as never }) });
        } catch (e) {
          results.push({ path, error: `${(e as { reason?: string }).reason ?? 'decode-error'}: ${(e as Error).message}` });
        }
      }
      if (!ok.length) continue;
      const px = size * size * 3;
      const images = new Uint8Array(ok.length * px);
      ok.forEach((o, k) => images.set(o.px, k * px));
      const X = ex.embed(images, ok.length);
      const d = clf.decisionFunction(X, ok.length);
      const p = clf.predictProba(X, ok.length);
      ok.forEach((o, k) => results.push({ path: o.path, decision: d[k]!, fake: p[k]!, label: d[k]! >= threshold ? 'fake' : 'real' }));
    }
    return { classifier: m.classifier.kind, threshold, thresholdSource: t === 'tuned' ? `tuned, ${m.threshold.criterion}` : t, predictions: results };
  } finally {
    ex.dispose();
  }
}
