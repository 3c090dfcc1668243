/**
 * `fdft experiment FILE`: runs every cell of an experiment — datasets × backbones × variants ×
 * seeds — pretraining once per (dataset, backbone, seed) and reusing it for the baseline row and
 * every FDFtNet variant. Finished runs are found again by their config hash and skipped, and an
 * interrupted run is resumed, so the command can be re-run after a crash or Ctrl-C and redoes
 * nothing that finished. `planExperiment` tells the same without training (`--dry-run`).
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
}

/** One run an experiment needs: a pretrain (also the baseline row) or an FDFtNet fine-tune on it. */
export interface PlannedRun {
  dataset: string;
  backbone: string;
  seed: number;
  kind: 'pretrain' | 'fine-tune';
  /** The table row it fills: 'baseline' for a pretrain (whether or not the baseline row is shown). */
  variant: Variant;
  /** train = start it; resume = continue its unfinished run; reuse = a finished run of the same config is there; skip = cannot run. */
  action: 'train' | 'resume' | 'reuse' | 'skip';
  /** The run found for it (resume, reuse). */
  runDir?: string;
  reason?: string;
  /** Its key settings in one line (absent for a skipped run). */
  settings?: string;
}

export function seedsFor(exp: Experiment, repeat?: number): number[] {
  const base = exp.seeds?.length ? [...exp.seeds] : [1];
  if (!repeat) return base;
  const out = [...new Set(base)];
  for (let s = 1; out.length < repeat; s++) if (!out.includes(s)) out.push(s);
  return out.slice(0, repeat);
}

function argsFor(exp: Experiment, d: ExperimentDataset, kind: 'pretrain' | 'train', backbone: string, seed: number): Record<string, unknown> {
  // Experiment-wide, then this backbone's, then this dataset's: a dataset's needs (e.g. larger cutouts) win.
  return {
    ...(kind === 'pretrain' ? exp.pretrain : exp.train),
    ...exp.perBackbone?.[backbone]?.[kind],
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

/** The settings that tell runs apart, in one line: schedule, optimiser, early stopping, input, heads. */
export function describeSettings(c: TrainConfig): string {
  const parts = [
    `${c.epochs} epoch${c.epochs === 1 ? '' : 's'} ${c.stepsPerEpoch === null ? 'of the whole split' : `× ${c.stepsPerEpoch} steps`}`,
    `batch ${c.batch}`,
    `${c.optimizer} lr ${c.lr} ${c.schedule}`,
    `patience ${c.patience} on ${c.monitor}`,
    `${c.inputSize} px ${c.fit}`,
    c.augment.translate || c.augment.rotation || c.augment.zoom || c.augment.hflip || c.augment.cutoutAlpha ? 'augment' : 'no augment',
    c.preciseBn ? `precise BN ${c.preciseBn}` : 'no precise BN',
  ];
  if (c.command === 'train') parts.push(c.useFtt ? `FTT M ${c.M}, N ${c.N}` : `no FTT, N ${c.N}`);
  return parts.join(', ');
}

/** The run of exactly this config: finished first, else the newest unfinished one (to resume). */
async function runFor(root: string, kind: 'pretrain' | 'train', config: TrainConfig): Promise<FoundRun | undefined> {
  const hash = configHash(config);
  const runs = await findRuns(root, (r) => r.kind === kind && r.configHash === hash);
  return runs.find((r) => r.status === 'finished') ?? runs[0];
}

/**
 * What `runExperiment` would do, without doing it: every pretrain and fine-tune with its settings and
 * whether it would be trained, resumed, reused or skipped. Reads run directories, writes nothing.
 */
export async function planExperiment(exp: Experiment, opts: { checkpointsRoot: string; repeat?: number }): Promise<PlannedRun[]> {
  const plan: PlannedRun[] = [];
  const fineTunes = exp.variants.filter((v) => v !== 'baseline');
  const actionOf = (found: FoundRun | undefined): PlannedRun['action'] => (!found ? 'train' : found.status === 'finished' ? 'reuse' : 'resume');
  for (const d of exp.datasets) {
    for (const backbone of exp.backbones) {
      for (const seed of seedsFor(exp, opts.repeat)) {
        const key = { dataset: d.name, backbone, seed };
        if (!d.path) {
          const reason = `dataset ${d.name} has no path: point it at your copy in ${exp.file}`;
          plan.push({ ...key, kind: 'pretrain', variant: 'baseline', action: 'skip', reason });
          for (const variant of fineTunes) plan.push({ ...key, kind: 'fine-tune', variant, action: 'skip', reason });
          continue;
        }
        const preCfg = pretrainConfig(exp, d, backbone, seed);
        const pre = await runFor(opts.checkpointsRoot, 'pretrain', preCfg);
        plan.push({ ...key, kind: 'pretrain', variant: 'baseline', action: actionOf(pre), runDir: pre?.dir, settings: describeSettings(preCfg) });
        for (const variant of fineTunes) {
          // A fine-tune's config names its pretrain's directory, so without one it can only be new.
          const cfg = finetuneConfig(exp, d, backbone, seed, variant === 'fdftnet', pre?.dir ?? '(its pretrain)');
          const found = pre ? await runFor(opts.checkpointsRoot, 'train', cfg) : undefined;
          plan.push({
            ...key,
            kind: 'fine-tune',
            variant,
            action: actionOf(found),
            runDir: found?.dir,
            reason: pre ? undefined : 'after its pretrain',
            settings: describeSettings(cfg),
          });
        }
      }
    }
  }
  return plan;
}

/** The plan as the console shows it: two lines per run (what and where; its settings), then a count. */
export function formatPlan(exp: Experiment, plan: PlannedRun[]): string[] {
  const actionText = { train: 'would train', resume: 'would resume', reuse: 'would reuse', skip: 'would skip' } as const;
  const lines = [`dry run of ${exp.name}${exp.file ? ` (${exp.file})` : ''}: nothing is trained or written`, ''];
  for (const p of plan) {
    const what = p.kind === 'pretrain' ? `pretrain${exp.variants.includes('baseline') ? ' (baseline row)' : ''}` : p.variant;
    const where = p.runDir ? ` in ${p.runDir}` : p.reason ? ` — ${p.reason}` : '';
    lines.push(`${actionText[p.action].padEnd(13)}${what} ${p.backbone} on ${p.dataset}, seed ${p.seed}${where}`);
    if (p.settings) lines.push(`${''.padEnd(13)}${p.settings}`);
  }
  const count = (action: PlannedRun['action']) => plan.filter((p) => p.action === action).length;
  const pretrains = plan.filter((p) => p.kind === 'pretrain').length;
  lines.push(
    '',
    `${plan.length} runs (${pretrains} pretrain${pretrains === 1 ? '' : 's'}, ${plan.length - pretrains} fine-tune${plan.length - pretrains === 1 ? '' : 's'}): ` +
      `${count('train')} would train, ${count('resume')} would resume, ${count('reuse')} would be reused, ${count('skip')} skipped`,
  );
  return lines;
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
