/**
 * A bounded pool that decodes items in order, except that indices asked for with `prioritize`
 * go first (the batches the training loop needs next). Used on the main thread and inside the
 * decode worker alike.
 */
export class DecodeScheduler {
  private readonly started: Uint8Array;
  private readonly urgent: number[] = [];
  private cursor = 0;
  private inFlight = 0;
  private stopped = false;

  constructor(
    private readonly count: number,
    private readonly concurrency: number,
    private readonly run: (i: number) => Promise<void>,
  ) {
    if (!(concurrency >= 1)) throw new RangeError(`concurrency must be ≥ 1 (got ${concurrency})`);
    this.started = new Uint8Array(count);
  }

  start(): void {
    this.pump();
  }

  /** Move these indices to the front of the queue (those not started yet). */
  prioritize(indices: ArrayLike<number>): void {
    for (let k = indices.length - 1; k >= 0; k--) {
      const i = indices[k]!;
      if (i >= 0 && i < this.count && !this.started[i]) this.urgent.push(i);
    }
    this.pump();
  }

  stop(): void {
    this.stopped = true;
  }

  private next(): number {
    while (this.urgent.length) {
      const i = this.urgent.pop()!;
      if (!this.started[i]) return i;
    }
    while (this.cursor < this.count && this.started[this.cursor]) this.cursor++;
    return this.cursor < this.count ? this.cursor : -1;
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.concurrency) {
      const i = this.next();
      if (i < 0) return;
      this.started[i] = 1;
      this.inFlight++;
      void this.run(i)
        .catch(() => {
          // run() reports its own failures; nothing may escape the pool
        })
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}
