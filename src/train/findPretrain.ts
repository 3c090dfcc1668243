/**
 * `fdft train` without --backbone-weights reuses a finished pretrain of the same backbone on the
 * same data — and the same split: a pretrain made with another seed, group rule or input size
 * was trained on other images, some of which would now sit in val/test (leakage). A run of exactly
 * the same config that was interrupted is resumed rather than started again.
 */
import type { TrainConfig } from './config.ts';
import { canonicalJson, configHash, findRuns, type FoundRun } from './runDir.ts';

/** run.json field of a pretrain started by `fdft train`: the fine-tune config to go on with. */
export const FINETUNE_CONFIG_FIELD = 'finetuneConfig';

/** The fields of a pretrain that must equal the fine-tune's for the backbone to be reusable. */
export function splitKey(c: Pick<TrainConfig, 'data' | 'seed' | 'groupBy' | 'inputSize' | 'fit' | 'backbone'>): string {
  return JSON.stringify([c.backbone, c.data, c.seed, c.groupBy ?? null, c.inputSize, c.fit]);
}

export async function findFinishedPretrain(root: string, config: TrainConfig): Promise<FoundRun | undefined> {
  const want = splitKey(config);
  const runs = await findRuns(root, (r) => r.kind === 'pretrain' && r.status === 'finished' && splitKey(r.config as TrainConfig) === want);
  return runs[0];
}

/** The newest unfinished runs of exactly `config`, by status. */
export interface UnfinishedRuns {
  /** Stopped by Ctrl-C with a checkpoint written: safe to resume. */
  interrupted?: FoundRun;
  /** Marked running: another process is training it, or it was killed (no status update). */
  running?: FoundRun;
}

export async function findUnfinishedRuns(root: string, kind: 'pretrain' | 'train', config: TrainConfig): Promise<UnfinishedRuns> {
  const hash = configHash(config);
  const want = canonicalJson(config);
  // The hash picks the candidates; the whole config must match (8 hex digits can collide).
  const runs = await findRuns(root, (r) => r.kind === kind && r.configHash === hash && canonicalJson(r.config) === want);
  return { interrupted: runs.find((r) => r.status === 'interrupted'), running: runs.find((r) => r.status === 'running') };
}
