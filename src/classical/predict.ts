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

export interface ClassicalPredictions {
  classifier: string;
  /** Verdict 'fake' when the decision value is ≥ this. */
  threshold: number;
  /** Where the threshold comes from: 'tuned, <criterion>', 'default' or the number given. */
  thresholdSource: string;
  /** The threshold on the `fake` (P(fake)) scale: decision ≥ threshold ⇔ fake ≥ this (up to saturation). */
  probabilityThreshold: number;
  predictions: ClassicalPrediction[];
}

export async function predictClassical(
  modelPath: string,
  inputs: string[],
  opts: { threshold?: string; batch?: number; checkpointsRoot?: string } = {},
): Promise<ClassicalPredictions> {
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
    return {
      classifier: m.classifier.kind,
      threshold,
      thresholdSource: t === 'tuned' ? `tuned, ${m.threshold.criterion}` : t,
      probabilityThreshold: clf.probabilityOfDecision(threshold),
      predictions: results,
    };
  } finally {
    ex.dispose();
  }
}

/**
 * The table of `fdft classical predict`. The verdict comes from the decision value; the header
 * states the rule on both columns, so a p(fake) under 0.5 beside 'fake' (a tuned threshold below
 * the classifier's own) reads as what it is, not as a contradiction.
 */
export function formatClassicalPredictions(r: ClassicalPredictions): string {
  const w = Math.min(80, Math.max(5, ...r.predictions.map((p) => p.path.length)));
  const source = r.thresholdSource.startsWith('tuned, ')
    ? `the threshold tuned for ${r.thresholdSource.slice('tuned, '.length)}`
    : r.thresholdSource === 'default'
      ? "the classifier's default threshold"
      : 'the --threshold given';
  const lines = [
    `verdict: fake when the ${r.classifier} decision value is ≥ ${r.threshold.toFixed(4)} (${source}), i.e. when p(fake) ≥ ${r.probabilityThreshold.toFixed(4)}`,
    `p(fake): the ${r.classifier} probability estimate, ${r.classifier === 'svc' ? 'sigmoid of the margin (not calibrated)' : 'a non-decreasing function of the decision value'}`,
    `${'image'.padEnd(w)}  decision   p(fake)  verdict`,
  ];
  for (const p of r.predictions) {
    lines.push(p.error ? `${p.path.padEnd(w)}  -          -        skipped (${p.error})` : `${p.path.padEnd(w)}  ${p.decision!.toFixed(4).padStart(9)}  ${p.fake!.toFixed(4)}   ${p.label}`);
  }
  return lines.join('\n');
}
