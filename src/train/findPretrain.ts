/**
 * `fdft train` without --backbone-weights reuses a finished pretrain of the same backbone on the
 * same data — and the same split: a pretrain made with another seed, group rule or input size
 * was trained on other images, some of which would now sit in val/test (leakage).
 */
import type { TrainConfig } from './config.ts';
import { findRuns, type FoundRun } from './runDir.ts';

/** The fields of a pretrain that must equal the fine-tune's for the backbone to be reusable. */
export function splitKey(c: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit' | 'backbone'>): string {
  return JSON.stringify([c.backbone, c.data, c.seed, c.groupBy ?? null, c.inputSize, c.fit]);
}

export async function findFinishedPretrain(root: string, config: TrainConfig): Promise<FoundRun | undefined> {
  const want = splitKey(config);
  const runs = await findRuns(root, (r) => r.kind === 'pretrain' && r.status === 'finished' && splitKey(r.config as TrainConfig) === want);
  return runs[0];
}
