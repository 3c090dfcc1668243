/**
 * Reproducible randomness inside a training step. tfjs draws unseeded randomness (dropout masks,
 * unseeded initialisers) from `Math.random`; swapping in a PRNG seeded by (seed, epoch, step) for
 * the duration of a step makes every step a pure function of its key — which is what lets a run
 * resumed after SIGKILL continue exactly like an uninterrupted one. A seeded dropout *layer*
 * would not do: tfjs reuses a layer's seed at every call, i.e. the same mask every step.
 */
import seedrandom from 'seedrandom';

export function withSeededMathRandom<T>(key: string, fn: () => T): T {
  const original = Math.random;
  Math.random = seedrandom(key);
  try {
    return fn();
  } finally {
    Math.random = original;
  }
}
