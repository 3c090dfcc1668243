// AssemblyScript (not TypeScript: excluded from tsconfig). Compiled to wasm with SIMD by
// `npm run build:wasm` (scripts/build-wasm.mjs) into src/train/hostUpdateBinary.ts, which is checked
// in and tested to match this source.
//
// The optimizer updates of src/train/hostOptimizer.ts, four weights at a time: the same rules as its
// JS loops (tfjs' Momentum and Adam, the L2 gradient 2λw added first), in float32 like tfjs. The JS
// loops are bound by scalar arithmetic (Adam's square root and division most of all); these are
// bound by memory. Every pointer is a byte address of float32 data in the imported memory, `n` the
// number of weights; the functions return Σw² of the weights before the update. No data segments
// and no allocation: nothing is written but the arrays given.

/** Σw² of 4 lanes, added to the float64 total every 1024 weights (float32 lanes would lose digits). */
@inline function hsum(v: v128): f64 {
  return <f64>f32x4.extract_lane(v, 0) + <f64>f32x4.extract_lane(v, 1) + <f64>f32x4.extract_lane(v, 2) + <f64>f32x4.extract_lane(v, 3);
}

/** acc = m·acc + (g + 2λw);  w = w + (−lr)·acc. */
export function momentum(w: usize, g: usize, acc: usize, n: i32, m: f32, negLr: f32, twiceL2: f32): f64 {
  const vm = f32x4.splat(m);
  const vlr = f32x4.splat(negLr);
  const vl2 = f32x4.splat(twiceL2);
  let total: f64 = 0;
  let squares = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  while (i < n4) {
    const end = min(i + 1024, n4);
    for (; i < end; i += 4) {
      const o = (<usize>i) << 2;
      const wv = v128.load(w + o);
      squares = f32x4.add(squares, f32x4.mul(wv, wv));
      const a = f32x4.add(f32x4.mul(vm, v128.load(acc + o)), f32x4.add(v128.load(g + o), f32x4.mul(vl2, wv)));
      v128.store(acc + o, a);
      v128.store(w + o, f32x4.add(wv, f32x4.mul(vlr, a)));
    }
    total += hsum(squares);
    squares = f32x4.splat(0);
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const wj = load<f32>(w + o);
    total += <f64>wj * <f64>wj;
    const a = m * load<f32>(acc + o) + (load<f32>(g + o) + twiceL2 * wj);
    store<f32>(acc + o, a);
    store<f32>(w + o, wj + negLr * a);
  }
  return total;
}

/**
 * m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²;  w = w + scale·m / (√v·invSqrtC2 + ε), with
 * scale = −lr / (1 − β1^t) and invSqrtC2 = 1 / √(1 − β2^t) (hostOptimizer.ts computes both).
 */
export function adam(
  w: usize, g: usize, m1: usize, m2: usize, n: i32,
  beta1: f32, beta2: f32, k1: f32, k2: f32, scale: f32, invSqrtC2: f32, eps: f32, twiceL2: f32,
): f64 {
  const vb1 = f32x4.splat(beta1);
  const vb2 = f32x4.splat(beta2);
  const vk1 = f32x4.splat(k1);
  const vk2 = f32x4.splat(k2);
  const vscale = f32x4.splat(scale);
  const vinv = f32x4.splat(invSqrtC2);
  const veps = f32x4.splat(eps);
  const vl2 = f32x4.splat(twiceL2);
  let total: f64 = 0;
  let squares = f32x4.splat(0);
  const n4 = n & ~3;
  let i = 0;
  while (i < n4) {
    const end = min(i + 1024, n4);
    for (; i < end; i += 4) {
      const o = (<usize>i) << 2;
      const wv = v128.load(w + o);
      squares = f32x4.add(squares, f32x4.mul(wv, wv));
      const gv = f32x4.add(v128.load(g + o), f32x4.mul(vl2, wv));
      const a = f32x4.add(f32x4.mul(v128.load(m1 + o), vb1), f32x4.mul(gv, vk1));
      const b = f32x4.add(f32x4.mul(v128.load(m2 + o), vb2), f32x4.mul(f32x4.mul(gv, gv), vk2));
      v128.store(m1 + o, a);
      v128.store(m2 + o, b);
      const step = f32x4.div(f32x4.mul(vscale, a), f32x4.add(f32x4.mul(f32x4.sqrt(b), vinv), veps));
      v128.store(w + o, f32x4.add(wv, step));
    }
    total += hsum(squares);
    squares = f32x4.splat(0);
  }
  for (; i < n; i++) {
    const o = (<usize>i) << 2;
    const wj = load<f32>(w + o);
    total += <f64>wj * <f64>wj;
    const gj = load<f32>(g + o) + twiceL2 * wj;
    const a = load<f32>(m1 + o) * beta1 + gj * k1;
    const b = load<f32>(m2 + o) * beta2 + gj * gj * k2;
    store<f32>(m1 + o, a);
    store<f32>(m2 + o, b);
    store<f32>(w + o, wj + (scale * a) / (Mathf.sqrt(b) * invSqrtC2 + eps));
  }
  return total;
}
