/**
 * Stop on a NaN or infinite loss with a message that names where it happened (the loop then exits
 * without writing a checkpoint, so the last good one stays the resume point).
 */

export class NonFiniteLossError extends Error {
  override name = 'NonFiniteLossError';
  constructor(
    readonly value: number,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(
      `loss became ${value} at epoch ${epoch}, step ${step}; stopping (the last good checkpoint is kept). ` +
        'Try a lower --lr, or check the data for corrupt images.',
    );
  }
}

/** Throw `NonFiniteLossError` unless `loss` is a finite number. */
export function assertFiniteLoss(loss: number, epoch: number, step: number): void {
  if (typeof loss !== 'number' || !Number.isFinite(loss)) throw new NonFiniteLossError(Number(loss), epoch, step);
}
