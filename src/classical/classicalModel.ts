/**
 * The saved classical model of `fdft classical` (read by `fdft classical predict`): the extractor
 * description (how to turn an image into the feature vector) + the fitted classifier + its
 * default and tuned decision thresholds. One JSON file.
 */
import { readFile } from 'node:fs/promises';
import { writeJsonAtomic } from '../util/atomic.ts';
import type { SerializedClassifier } from './classifier.ts';
import { ClassifierError } from './errors.ts';
import type { ExtractorInfo } from './featureFile.ts';

export const CLASSICAL_MODEL_FORMAT = 'fdft-classical-model';

export interface ClassicalModelFile {
  format: typeof CLASSICAL_MODEL_FORMAT;
  version: 1;
  /** Extractor without its (large) list of training-image hashes. */
  extractor: Omit<ExtractorInfo, 'trainedOn'> & { trainedOn: { source: string; runConfig?: string; dataRoot?: string; split?: string; count?: number } };
  classifier: SerializedClassifier;
  nCols: number;
  threshold: { default: number; tuned: number; criterion: string };
  /** Feature file the classifier was fitted on, and the rows used. */
  trainedOn: { features: string; rows: number };
  createdAt: string;
}

export async function saveClassicalModel(path: string, m: Omit<ClassicalModelFile, 'format' | 'version' | 'createdAt'>): Promise<void> {
  await writeJsonAtomic(path, { format: CLASSICAL_MODEL_FORMAT, version: 1, createdAt: new Date().toISOString(), ...m });
}

export async function readClassicalModel(path: string): Promise<ClassicalModelFile> {
  let m: ClassicalModelFile;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as ClassicalModelFile;
  } catch (e) {
    throw new ClassifierError(`cannot read classical model ${path}: ${(e as Error).message}`);
  }
  if (m?.format !== CLASSICAL_MODEL_FORMAT) throw new ClassifierError(`${path} is not a classical model file (written by fdft classical)`);
  return m;
}

export function slimExtractorInfo(info: ExtractorInfo): ClassicalModelFile['extractor'] {
  const { trainedOn, ...rest } = info;
  return {
    ...rest,
    trainedOn: { source: trainedOn.source, runConfig: trainedOn.runConfig, dataRoot: trainedOn.dataRoot, split: trainedOn.split, count: trainedOn.hashes?.length },
  };
}
