/**
 * `fdft experiment FILE`: runs every cell of an experiment — datasets × backbones × variants ×
 * seeds — pretraining once per (dataset, backbone, seed) and reusing it for the baseline row and
 * every FDFtNet variant. Finished runs are found again by their config hash and skipped, and an
 * interrupted run is resumed, so the command can be re-run after a crash or Ctrl-C and redoes
 * nothing that finished.
 */
import type { TrainEngine } from '../train/parallel/runGradients.ts';
import { join } from 'node:path';
import type { Experiment, ExperimentDataset, Variant } from './schema.ts';
import type { TrainConfig } from '../train/config.ts';
import { resolveTrainConfig } from '../cli/trainOptions.ts';
import { configHash, findRuns, type FoundRun } from '../train/runDir.ts';
import type { RunOptions } from '../train/runLifecycle.ts';

export interface CellKey {
  dataset: string;
  backbone: string;
  variant: Variant;
  seed: number;
}

export interface CellOutcome extends CellKey {
  status: 'finished' | 'skipped' | 'interrupted' | 'failed';
  /** Run directory whose eval-test/ holds the cell's metrics (the pretrain run for 'baseline'). */
  runDir?: string;
  reason?: string;
  /** Whether this invocation trained it (false = reused a finished run). */
  trained?: boolean;
}

export interface ExperimentRunOptions extends RunOptions {
  /** Gradient worker threads per run (see src/train/parallel/). */
  workers?: number;
  /** Engine of the training step (see ParallelRunOptions). */
  trainEngine?: TrainEngine;
  /** Seeds per cell (--repeat K). */
  repeat?: number;
  /** Only log what would run. */
  dryRun?: boolean;
}

export function seedsFor(exp: Experiment, repeat?: number): number[] {
  const base = exp.seeds?.length ? [...exp.seeds] : [1];
  if (!repeat) return base;
  const out = [...new Set(base)];
  for (let s = 1; out.length < repeat; s++) if (!out.includes(s)) out.push(s);
  return out.slice(0, repeat);
}

function argsFor(exp: Experiment, d: ExperimentDataset, kind: 'pretrain' | 'train', backbone: string, seed: number): Record<string, unknown> {
  return {
    ...(kind === 'pretrain' ? exp.pretrain : exp.train),
    ...(kind === 'pretrain' ? d.pretrain : d.train),
    data: d.path!,
    backbone,
    seed,
    groupBy: d.groupBy,
  };
}

export function pretrainConfig(exp: Experiment, d: ExperimentDataset, backbone: string, seed: number): TrainConfig {
  return resolveTrainConfig('pretrain', argsFor(exp, d, 'pretrain', backbone, seed));
}

export function finetuneConfig(exp: Experiment, d: ExperimentDataset, backbone: string, seed: number, useFtt: boolean, backboneWeights: string): TrainConfig {
  const c = resolveTrainConfig('train', { ...argsFor(exp, d, 'train', backbone, seed), ftt: useFtt });
  c.backboneWeights = backboneWeights;
  return c;
}

/** The run of exactly this config: finished first, else the newest unfinished one (to resume). */
async function runFor(root: string, kind: 'pretrain' | 'train', config: TrainConfig): Promise<FoundRun | undefined> {
  const hash = configHash(config);
  const runs = await findRuns(root, (r) => r.kind === kind && r.configHash === hash);
  return runs.find((r) => r.status === 'finished') ?? runs[0];
}

export async function runExperiment(exp: Experiment, opts: ExperimentRunOptions): Promise<CellOutcome[]> {
  const { runPretrain } = await import('../train/pretrain.ts');
  const { runFinetune } = await import('../train/finetune.ts');
  const log = (m: string) => opts.reporter.log(m);
  const outcomes: CellOutcome[] = [];
  const seeds = seedsFor(exp, opts.repeat);
  const stop = () => opts.interrupt?.requested() ?? false;

  for (const d of exp.datasets) {
    for (const backbone of exp.backbones) {
      for (const seed of seeds) {
        const key = { dataset: d.name, backbone, seed };
        if (!d.path) {
          for (const variant of exp.variants) {
            outcomes.push({ ...key, variant, status: 'skipped', reason: `dataset ${d.name} has no path: point it at your copy in ${exp.file}` });
          }
          continue;
        }
        if (stop()) {
          for (const variant of exp.variants) outcomes.push({ ...key, variant, status: 'interrupted' });
          continue;
        }
        // 1. Pretrain once per (dataset, backbone, seed): the baseline row and the frozen backbone.
        const preCfg = pretrainConfig(exp, d, backbone, seed);
        let pre = await runFor(opts.checkpointsRoot, 'pretrain', preCfg);
        let preTrained = false;
        if (!pre || pre.status !== 'finished') {
          log(`[${exp.name}] pretrain ${backbone} on ${d.name}, seed ${seed}${pre ? ` (resuming ${pre.dir})` : ''}`);
          if (opts.dryRun) {
            for (const variant of exp.variants) outcomes.push({ ...key, variant, status: 'skipped', reason: 'dry run' });
            continue;
          }
          try {
            const r = await runPretrain(preCfg, { ...opts, resumeDir: pre?.dir });
            if (r.status !== 'finished') {
              for (const variant of exp.variants) outcomes.push({ ...key, variant, status: 'interrupted', runDir: r.runDir });
              continue;
            }
            pre = { ...(pre ?? ({} as FoundRun)), dir: r.runDir, status: 'finished' } as FoundRun;
            preTrained = true;
          } catch (e) {
            log(`[${exp.name}] pretrain failed: ${(e as Error).message}`);
            for (const variant of exp.variants) outcomes.push({ ...key, variant, status: 'failed', reason: (e as Error).message });
            continue;
          }
        }
        // 2. Each variant.
        for (const variant of exp.variants) {
          if (variant === 'baseline') {
            outcomes.push({ ...key, variant, status: 'finished', runDir: pre.dir, trained: preTrained });
            continue;
          }
          if (stop()) {
            outcomes.push({ ...key, variant, status: 'interrupted' });
            continue;
          }
          const cfg = finetuneConfig(exp, d, backbone, seed, variant === 'fdftnet', pre.dir);
          const found = await runFor(opts.checkpointsRoot, 'train', cfg);
          if (found?.status === 'finished') {
            outcomes.push({ ...key, variant, status: 'finished', runDir: found.dir, trained: false });
            continue;
          }
          log(`[${exp.name}] ${variant} ${backbone} on ${d.name}, seed ${seed}${found ? ` (resuming ${found.dir})` : ''}`);
          if (opts.dryRun) {
            outcomes.push({ ...key, variant, status: 'skipped', reason: 'dry run' });
            continue;
          }
          try {
            const r = await runFinetune(cfg, { ...opts, resumeDir: found?.dir });
            outcomes.push({ ...key, variant, status: r.status, runDir: r.runDir, trained: true });
          } catch (e) {
            log(`[${exp.name}] ${variant} failed: ${(e as Error).message}`);
            outcomes.push({ ...key, variant, status: 'failed', reason: (e as Error).message });
          }
        }
      }
    }
  }
  return outcomes;
}

/** Where a cell's test evaluation lives. */
export function cellEvalDir(o: CellOutcome): string | undefined {
  return o.runDir ? join(o.runDir, 'eval-test') : undefined;
}
