/**
 * Which test results measure nothing, so that a report does not present them as findings:
 *
 *   - constant scores: every test image gets exactly the same P(fake) — the model ignores its input (a
 *     network whose ReLUs all died outputs softmax(bias) for every image). Unambiguous.
 *   - one class: at threshold 0.5 every test image gets the same label, so ACC is only the share of
 *     that class in the test split (the AUROC may still mean something).
 *   - at (or below) chance: the test AUROC is not significantly above 0.5.
 *
 * "At chance" is a one-sided Mann–Whitney test of AUROC > 0.5 at α = 0.05. AUROC is the
 * Mann–Whitney U divided by n_fake·n_real; for a model that cannot tell the classes apart it is
 * approximately normal with mean 0.5 and variance (n_fake + n_real + 1) / (12·n_fake·n_real). We
 * chose this over a fixed cut such as AUROC ≤ 0.55 because it scales with the test split: an AUROC
 * of 0.55 is noise on 150 + 150 images (the bar is 0.555 there) and on 40 + 40 (0.607), while 0.53
 * is real signal on 10 000 + 10 000 (0.507). Over a binomial test on accuracy because accuracy at the
 * fixed 0.5 threshold fails well-ranking but uncalibrated models, common after a few epochs; the
 * one-class check above covers the case where accuracy itself is void. Ties are left out of the
 * variance, which overstates it slightly and so errs towards flagging.
 */
import type { EvalMetrics } from '../eval/metrics.ts';

export type DegenerateReason = 'constant-scores' | 'one-class' | 'chance';

export type TableMetric = 'acc' | 'auroc';

export interface DegenerateFinding {
  reason: DegenerateReason;
  /** One line for a footnote, e.g. "constant predictions (every test score is 0.4963)". */
  detail: string;
  /** The table metrics it makes meaningless: one class voids ACC only, the ranking is still measured. */
  voids: TableMetric[];
}

/** Significance level of the at-chance test. */
export const CHANCE_ALPHA = 0.05;
/** The standard normal quantile of 1 − CHANCE_ALPHA. */
const Z_ONE_SIDED = 1.6448536269514722;

/** The AUROC a model must exceed to be above chance (p < CHANCE_ALPHA) on a test split of this make-up. */
export function chanceAurocBar(nFake: number, nReal: number): number {
  return 0.5 + Z_ONE_SIDED * Math.sqrt((nFake + nReal + 1) / (12 * nFake * nReal));
}

/**
 * What makes one run's test result meaningless; empty when nothing does. `scores` (the test
 * split's P(fake), from eval-test/scores.csv) enables the constant-scores check.
 */
export function degenerateFindings(m: Pick<EvalMetrics, 'auroc' | 'counts' | 'at05'>, scores?: ArrayLike<number>): DegenerateFinding[] {
  if (scores && scores.length > 0) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < scores.length; i++) {
      lo = Math.min(lo, scores[i]);
      hi = Math.max(hi, scores[i]);
    }
    // Identical, not merely close: a model still on its loss plateau can give scores a few float32
    // steps apart that rank the test split well (a SqueezeNet pretrain: 23 distinct scores within
    // 7e-7, 74 % AUROC); the checks below judge those. Constant scores imply one class and AUROC 0.5,
    // so the other findings would only repeat this one.
    if (hi === lo) return [{ reason: 'constant-scores', detail: `constant predictions (every test score is ${lo.toFixed(4)})`, voids: ['acc', 'auroc'] }];
  }
  const findings: DegenerateFinding[] = [];
  const { tp, fp, tn, fn } = m.at05.confusion;
  if (tp + fp === 0 || tn + fn === 0) {
    const label = tp + fp === 0 ? 'real' : 'fake';
    findings.push({ reason: 'one-class', detail: `one predicted class (every test image is called ${label} at threshold 0.5, so ACC is only the share of ${label} images)`, voids: ['acc'] });
  }
  const { fake, real } = m.counts;
  if (fake > 0 && real > 0) {
    const bar = chanceAurocBar(fake, real);
    if (!(m.auroc > bar)) {
      // As far below 0.5 as the bar is above it: the model ranks the classes the wrong way round.
      const where = m.auroc < 1 - bar ? 'below chance' : 'at chance';
      findings.push({
        reason: 'chance',
        detail: `${where} (test AUROC ${(m.auroc * 100).toFixed(2)} %; above chance at p < ${CHANCE_ALPHA} needs > ${(bar * 100).toFixed(2)} % on ${fake} fake + ${real} real)`,
        // A model that cannot rank the classes has no accuracy above chance to speak of either.
        voids: ['acc', 'auroc'],
      });
    }
  }
  return findings;
}
