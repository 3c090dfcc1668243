/** A data-parallel gradient pool that cannot start, was misused, or whose worker failed. */
export class ParallelTrainingError extends Error {
  override name = 'ParallelTrainingError';
}
