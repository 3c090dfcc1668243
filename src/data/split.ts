/**
 * Seeded train / val / test / finetune split of a flat dataset (paper Table 4's spirit: most
 * images for (pre-)training, a balanced fine-tune set of up to 1000 real + 1000 fake, the rest for
 * validation and test). With identity groups, whole groups are assigned to one partition so no
 * identity is in two partitions.
 */
import { DataOptionsError } from './errors.ts';
import { rngFor, shuffleInPlace } from './random.ts';
import { SPLIT_NAMES, type Label, type Sample, type SplitName, type Splits } from './types.ts';

export interface SplitSpec {
  /** Validation size per class: a fraction (< 1) of the class or an image count (≥ 1). Default 0.1. */
  val?: number;
  /** Test size per class, as `val`. Default 0.1. */
  test?: number;
  /** Fine-tune size per class (balanced: computed from the smaller class), as `val`. Default 0.2. */
  finetune?: number;
  /** Upper bound of the fine-tune set per class (paper: 1000 real + 1000 fake). Default 1000. */
  finetuneMax?: number;
}

export const DEFAULT_SPLIT: Required<SplitSpec> = { val: 0.1, test: 0.1, finetune: 0.2, finetuneMax: 1000 };

function amount(spec: number, n: number, what: string): number {
  if (!Number.isFinite(spec) || spec < 0) throw new DataOptionsError(`split ${what} must be ≥ 0 (got ${spec})`);
  return spec < 1 ? Math.round(spec * n) : Math.floor(spec);
}

/** Images per split and class that `splitSamples` aims for. */
export function splitTargets(classCounts: [number, number], spec: SplitSpec = {}): Record<SplitName, [number, number]> {
  const s = { ...DEFAULT_SPLIT, ...Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined)) } as Required<SplitSpec>;
  const minClass = Math.min(...classCounts);
  const ft = Math.min(amount(s.finetune, minClass, 'finetune'), s.finetuneMax);
  const t = {} as Record<SplitName, [number, number]>;
  t.finetune = [ft, ft];
  t.val = [amount(s.val, classCounts[0], 'val'), amount(s.val, classCounts[1], 'val')];
  t.test = [amount(s.test, classCounts[0], 'test'), amount(s.test, classCounts[1], 'test')];
  t.train = [0, 1].map((c) => classCounts[c]! - t.finetune[c]! - t.val[c]! - t.test[c]!) as [number, number];
  for (const c of [0, 1] as const) {
    if (t.train[c] < 1) {
      throw new DataOptionsError(
        `split leaves no ${c === 0 ? 'real' : 'fake'} image for training (${classCounts[c]} images: ` +
          `val ${t.val[c]}, test ${t.test[c]}, finetune ${t.finetune[c]}); use smaller val/test/finetune sizes`,
      );
    }
  }
  return t;
}

/**
 * Splits samples into the four partitions. Deterministic in (samples, spec, seed): the input
 * order does not matter (samples are sorted by path first).
 */
export function splitSamples(samples: Sample[], spec: SplitSpec = {}, seed = 0): Splits {
  const sorted = [...samples].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const counts: [number, number] = [0, 0];
  for (const s of sorted) counts[s.label]++;
  const targets = splitTargets(counts, spec);
  const out: Splits = { train: [], val: [], test: [], finetune: [] };
  const grouped = sorted.some((s) => s.group !== undefined);

  if (!grouped) {
    // Exact stratified cut per class.
    for (const label of [0, 1] as Label[]) {
      const cls = shuffleInPlace(sorted.filter((s) => s.label === label), rngFor(seed, 'split', label));
      let at = 0;
      for (const name of ['test', 'val', 'finetune', 'train'] as const) {
        const n = targets[name][label];
        out[name].push(...cls.slice(at, at + n));
        at += n;
      }
    }
  } else {
    // Greedy assignment of whole groups, largest first (ties in seeded random order), each to the
    // partition whose per-class deficit it fills best with the least overflow.
    const byGroup = new Map<string, Sample[]>();
    for (const s of sorted) {
      const g = s.group ?? `\u0000${s.path}`;
      let list = byGroup.get(g);
      if (!list) byGroup.set(g, (list = []));
      list.push(s);
    }
    const groups = shuffleInPlace([...byGroup.values()], rngFor(seed, 'split', 'groups'));
    groups.sort((a, b) => b.length - a.length); // stable: equal sizes keep the shuffled order
    const deficit = Object.fromEntries(SPLIT_NAMES.map((n) => [n, [...targets[n]]])) as Record<SplitName, number[]>;
    for (const g of groups) {
      const c = [0, 0];
      for (const s of g) c[s.label]!++;
      let best: SplitName = 'train';
      let bestScore = -Infinity;
      for (const name of ['test', 'val', 'finetune', 'train'] as const) {
        const d = deficit[name];
        const fill = Math.min(c[0]!, Math.max(0, d[0]!)) + Math.min(c[1]!, Math.max(0, d[1]!));
        const over = Math.max(0, c[0]! - Math.max(0, d[0]!)) + Math.max(0, c[1]! - Math.max(0, d[1]!));
        const total = targets[name][0] + targets[name][1];
        const relative = total > 0 ? (d[0]! + d[1]!) / total : -1;
        const score = fill - 2 * over + 1e-3 * relative;
        if (fill > 0 && score > bestScore) {
          bestScore = score;
          best = name;
        }
      }
      deficit[best][0]! -= c[0]!;
      deficit[best][1]! -= c[1]!;
      out[best].push(...g);
    }
  }
  for (const name of SPLIT_NAMES) out[name].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return out;
}

/** A balanced random subset of up to `maxPerClass` per class (pre-split data without a finetune folder). */
export function balancedSubset(samples: Sample[], maxPerClass: number, seed = 0): Sample[] {
  const sorted = [...samples].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const real = shuffleInPlace(sorted.filter((s) => s.label === 0), rngFor(seed, 'finetune-subset', 0));
  const fake = shuffleInPlace(sorted.filter((s) => s.label === 1), rngFor(seed, 'finetune-subset', 1));
  const n = Math.min(maxPerClass, real.length, fake.length);
  return [...real.slice(0, n), ...fake.slice(0, n)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
