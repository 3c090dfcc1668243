/**
 * Seeded randomness. Every random choice of the pipeline is a pure function of its key, e.g.
 * (seed, 'shuffle', pass) or (seed, 'augment', epoch, step), so a run resumed at the start of an
 * epoch reproduces exactly the batches an uninterrupted run would have seen.
 */
import seedrandom from 'seedrandom';

export type Rng = () => number;

/** A generator seeded by the joined key parts, e.g. `rngFor(seed, 'augment', epoch, step)`. */
export function rngFor(...key: (string | number)[]): Rng {
  return seedrandom(key.join(':'));
}

/** Uniform integer in [lo, hi] (both inclusive), like `np.random.randint(lo, hi + 1)`. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** Uniform real in [lo, hi). */
export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Standard normal (Box–Muller). */
export function gaussian(rng: Rng): number {
  let u = 0;
  while (u === 0) u = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Fisher–Yates shuffle in place; returns the array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

/** A random permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Uint32Array {
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}
