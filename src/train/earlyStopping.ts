/**
 * Early stopping on a monitored value (FDFtNet §4.1: stop when the validation loss has not improved
 * for 20 epochs, then restore the best weights). Semantics follow Keras' `EarlyStopping`: an epoch
 * improves when it beats the best value by more than `minDelta`; the run stops once `patience`
 * consecutive epochs have not improved. Restoring the best weights is the loop's job (from
 * `runDir/best/`); `bestEpoch` says which epoch that is. The state round-trips through JSON for
 * checkpoints, so a resumed run stops at the same epoch as an uninterrupted one.
 */

export class EarlyStoppingError extends Error {
  override name = 'EarlyStoppingError';
}

export type EarlyStoppingMode = 'min' | 'max';

export interface EarlyStoppingOptions {
  /** Epochs without improvement before stopping (paper: 20). */
  patience?: number;
  /** Smallest change that counts as an improvement (≥ 0). */
  minDelta?: number;
  /** 'min' for losses, 'max' for accuracy / AUROC. */
  mode?: EarlyStoppingMode;
}

/** Checkpoint form (plain JSON; `bestValue` is null until a finite value was seen). */
export interface EarlyStoppingState {
  patience: number;
  minDelta: number;
  mode: EarlyStoppingMode;
  bestEpoch: number | null;
  bestValue: number | null;
  /** Consecutive epochs without improvement. */
  wait: number;
  stopped: boolean;
  /** Last epoch passed to `update` (null before the first). */
  lastEpoch: number | null;
}

export interface EarlyStoppingUpdate {
  /** This epoch is the new best (save it to `best/`). */
  improved: boolean;
  /** Patience exhausted: finish the run and restore `bestEpoch`. */
  stop: boolean;
}

export class EarlyStopping {
  readonly patience: number;
  readonly minDelta: number;
  readonly mode: EarlyStoppingMode;
  private best: number | null = null;
  private bestAt: number | null = null;
  private waitCount = 0;
  private hasStopped = false;
  private last: number | null = null;

  constructor({ patience = 20, minDelta = 0, mode = 'min' }: EarlyStoppingOptions = {}) {
    if (!Number.isInteger(patience) || patience < 0) throw new EarlyStoppingError(`patience must be an integer ≥ 0, got ${patience}`);
    if (!Number.isFinite(minDelta) || minDelta < 0) throw new EarlyStoppingError(`minDelta must be a finite number ≥ 0, got ${minDelta}`);
    if (mode !== 'min' && mode !== 'max') throw new EarlyStoppingError(`mode must be 'min' or 'max', got '${String(mode)}'`);
    this.patience = patience;
    this.minDelta = minDelta;
    this.mode = mode;
  }

  /** Epoch of the best value so far (null before the first finite value). */
  get bestEpoch(): number | null {
    return this.bestAt;
  }

  /** Best monitored value so far (null before the first finite value). */
  get bestValue(): number | null {
    return this.best;
  }

  /** Consecutive epochs without improvement. */
  get wait(): number {
    return this.waitCount;
  }

  get stopped(): boolean {
    return this.hasStopped;
  }

  /**
   * Record the monitored value of a finished epoch. A non-finite value never improves (it counts
   * against patience). With patience 0, the first non-improving epoch stops the run.
   */
  update(epoch: number, value: number): EarlyStoppingUpdate {
    if (!Number.isInteger(epoch)) throw new EarlyStoppingError(`epoch must be an integer, got ${epoch}`);
    if (this.last !== null && epoch <= this.last) {
      throw new EarlyStoppingError(`epoch ${epoch} is not after epoch ${this.last}: one update per epoch, in order`);
    }
    this.last = epoch;
    const improved =
      Number.isFinite(value) &&
      (this.best === null || (this.mode === 'min' ? value < this.best - this.minDelta : value > this.best + this.minDelta));
    if (improved) {
      this.best = value;
      this.bestAt = epoch;
      this.waitCount = 0;
    } else {
      this.waitCount += 1;
      if (this.waitCount >= this.patience) this.hasStopped = true;
    }
    return { improved, stop: this.hasStopped };
  }

  toJSON(): EarlyStoppingState {
    return {
      patience: this.patience,
      minDelta: this.minDelta,
      mode: this.mode,
      bestEpoch: this.bestAt,
      bestValue: this.best,
      wait: this.waitCount,
      stopped: this.hasStopped,
      lastEpoch: this.last,
    };
  }

  static fromJSON(state: EarlyStoppingState): EarlyStopping {
    if (typeof state !== 'object' || state === null) throw new EarlyStoppingError('early-stopping state must be an object');
    const es = new EarlyStopping({ patience: state.patience, minDelta: state.minDelta, mode: state.mode });
    const okNum = (v: unknown) => v === null || (typeof v === 'number' && Number.isFinite(v));
    if (!okNum(state.bestValue) || !okNum(state.bestEpoch) || (state.bestValue === null) !== (state.bestEpoch === null)) {
      throw new EarlyStoppingError(`corrupt early-stopping state: bestEpoch=${state.bestEpoch} bestValue=${state.bestValue}`);
    }
    if (!Number.isInteger(state.wait) || state.wait < 0) throw new EarlyStoppingError(`corrupt early-stopping state: wait=${state.wait}`);
    es.best = state.bestValue;
    es.bestAt = state.bestEpoch;
    es.waitCount = state.wait;
    es.hasStopped = Boolean(state.stopped);
    es.last = state.lastEpoch ?? state.bestEpoch;
    return es;
  }
}
