/**
 * The exit rule of `fdft predict` and `fdft classical predict`: inputs that cannot be used are
 * listed and skipped, but a call that scored nothing at all fails (non-zero exit), so a script
 * does not take an empty result for a verdict.
 */

/** Nothing was scored: every input was missing, unreadable or not an image. */
export class NothingScoredError extends Error {
  override name = 'NothingScoredError';
}

/** Returns how many results are skipped (have an error); throws NothingScoredError when all are, or there are none. */
export function countSkippedOrThrow(results: readonly { path: string; error?: string }[], inputs: readonly string[]): number {
  const skipped = results.filter((r) => r.error);
  if (results.length === 0) throw new NothingScoredError(`no image files in ${inputs.join(', ')}`);
  if (skipped.length === results.length) {
    const first = `${skipped[0]!.path}: ${skipped[0]!.error}`;
    throw new NothingScoredError(skipped.length === 1 ? `nothing was scored (${first})` : `none of the ${skipped.length} files could be scored (first: ${first})`);
  }
  return skipped.length;
}
