/**
 * The run's optimizer (SGD with momentum or Adam, `createOptimizer` in loop.ts) applied to weights
 * held in plain Float32Arrays: the update of the onnxruntime training step (src/train/onnx/), whose
 * weights stay outside tfjs between steps. Why not tfjs' optimizer there: for Xception's 20.8 M
 * weights, copying the weights out of tfjs, the gradients back in and tfjs' single-threaded update
 * cost 0.3 s (SGD) to 0.6 s (Adam) of a ~1.5 s step at batch 32 (issue 9). Here the update runs
 * four weights at a time in a WebAssembly SIMD kernel (src/train/assembly/hostUpdate.ts) on one
 * memory holding the weights, the slots and a gradient buffer (`allocate`; the graph is fed from
 * it): 67 ms (SGD) / 85 ms (Adam) per step (BENCHMARKS.md, "Seventh session"). Where wasm SIMD is
 * missing, the JS loops at the end of this file do the same in 3–6x the time.
 *
 * The update rules are tfjs' own (tfjs-core momentum_optimizer.js / adam_optimizer.js), in float32
 * like tfjs (the JS loops: float64, rounded on store), so a run agrees with one on tfjs' optimizer
 * to float32 rounding (test/train/hostOptimizer.test.ts checks 1e-6, both ways). The state (the
 * slot arrays and the step count) is exchanged with a tfjs optimizer of the same class by `load` /
 * `store`, under tfjs' slot names, so checkpoints keep one format and a run may resume on either.
 */
import * as tf from '@tensorflow/tfjs';
import { HOST_UPDATE_WASM_BASE64 } from './hostUpdateBinary.ts';

export class HostOptimizerError extends Error {
  override name = 'HostOptimizerError';
}

/** A trainable weight as the host optimizer sees it. */
export interface HostParameter {
  /** The tfjs variable's name (slots are named after it: `<name>/momentum`, `<name>/m`, `<name>/v`). */
  name: string;
  value: Float32Array;
  /** The variable's shape (its slots have the same). */
  shape: readonly number[];
  /** Whether the L2 penalty decays it (`isDecayed`: kernels). */
  decayed: boolean;
}

type Kind = 'Momentum' | 'Adam';
type NamedTensor = Awaited<ReturnType<tf.Optimizer['getWeights']>>[number];
const SLOT_SUFFIXES: Record<Kind, readonly string[]> = { Momentum: ['momentum'], Adam: ['m', 'v'] };

/** The fields of tfjs' `getConfig()` for Momentum and Adam. */
interface OptimizerConfig {
  momentum?: number;
  useNesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}

/** The exports of src/train/assembly/hostUpdate.ts (byte addresses into its memory). */
interface HostUpdateKernels {
  momentum(w: number, g: number, acc: number, n: number, m: number, negLr: number, twiceL2: number): number;
  adam(w: number, g: number, m1: number, m2: number, n: number, beta1: number, beta2: number, k1: number, k2: number, scale: number, invSqrtC2: number, eps: number, twiceL2: number): number;
}

let hostUpdateModule: WebAssembly.Module | null | undefined;

/**
 * One WebAssembly.Memory holding every parameter's weights and slots and one gradient buffer, with
 * the SIMD update kernels on it; or undefined where this runtime has no wasm SIMD or the arrays
 * would not fit in wasm32's 4 GiB. Sized once: the memory never grows, so its views stay valid.
 */
class WasmArena {
  private next = 0;
  private constructor(
    readonly memory: WebAssembly.Memory,
    readonly kernels: HostUpdateKernels,
  ) {}

  static create(floats: number): WasmArena | undefined {
    const pages = Math.ceil((floats * 4 + 64) / 65536);
    if (pages > 65535) return undefined;
    if (hostUpdateModule === undefined) {
      try {
        hostUpdateModule = new WebAssembly.Module(Uint8Array.from(atob(HOST_UPDATE_WASM_BASE64), (ch) => ch.charCodeAt(0)));
      } catch {
        hostUpdateModule = null; // no wasm SIMD here: the JS loops below
      }
    }
    if (!hostUpdateModule) return undefined;
    try {
      const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
      const kernels = new WebAssembly.Instance(hostUpdateModule, { env: { memory } }).exports as unknown as HostUpdateKernels;
      return new WasmArena(memory, kernels);
    } catch {
      return undefined; // e.g. the memory cannot be reserved
    }
  }

  /** `n` zeroed floats (16-byte aligned for the SIMD loads). */
  take(n: number): Float32Array {
    const view = new Float32Array(this.memory.buffer, this.next, n);
    this.next += Math.ceil((n * 4) / 16) * 16;
    return view;
  }

  holds(a: Float32Array): boolean {
    return a.buffer === this.memory.buffer;
  }
}

export class HostOptimizer {
  /** Optimisation steps taken (tfjs' `iterations`). */
  iterations = 0;
  /** Per parameter, its slot arrays in SLOT_SUFFIXES order (created at the first step, by `allocate` or by `load`). */
  private slots: Float32Array[][] = [];
  /** Set by `allocate`: the parameters' storage where the SIMD update runs, and its gradient buffer. */
  private arena?: { wasm: WasmArena; gradient: Float32Array };

  private constructor(
    readonly kind: Kind,
    private readonly config: Required<Pick<OptimizerConfig, 'momentum' | 'beta1' | 'beta2' | 'epsilon'>>,
  ) {}

  /** The host twin of a tfjs optimizer made by `createOptimizer` (tf.train.momentum or tf.train.adam). */
  static like(optimizer: tf.Optimizer): HostOptimizer {
    const kind = optimizer.getClassName();
    const c = optimizer.getConfig() as OptimizerConfig;
    if (kind === 'Momentum') {
      if (c.useNesterov) throw new HostOptimizerError('Nesterov momentum has no host update');
      return new HostOptimizer('Momentum', { momentum: c.momentum!, beta1: 0, beta2: 0, epsilon: 0 });
    }
    if (kind === 'Adam') return new HostOptimizer('Adam', { momentum: 0, beta1: c.beta1!, beta2: c.beta2!, epsilon: c.epsilon! });
    throw new HostOptimizerError(`optimizer ${kind} has no host update (use sgd or adam)`);
  }

  /**
   * Storage for parameters of `sizes` weights: views of one wasm memory where the update runs in
   * SIMD (src/train/assembly/hostUpdate.ts), which also holds their slots; plain arrays where wasm
   * SIMD is missing. Use the returned arrays as the HostParameters' `value`s. Call once, first.
   */
  allocate(sizes: readonly number[]): Float32Array[] {
    if (this.slots.length > 0 || this.arena) throw new HostOptimizerError('allocate must come before any step or load');
    const slotCount = SLOT_SUFFIXES[this.kind].length;
    const largest = Math.max(0, ...sizes);
    const wasm = WasmArena.create(sizes.reduce((a, n) => a + (1 + slotCount) * (n + 4), largest + 4));
    if (!wasm) return sizes.map((n) => new Float32Array(n));
    const values = sizes.map((n) => wasm.take(n));
    this.slots = sizes.map((n) => Array.from({ length: slotCount }, () => wasm.take(n)));
    this.arena = { wasm, gradient: wasm.take(largest) };
    return values;
  }

  /** Whether `allocate` gave wasm storage (the SIMD update), for logs and tests. */
  get simd(): boolean {
    return this.arena !== undefined;
  }

  /**
   * One step at learning rate `lr` on `params` with `grads` (same order and lengths), adding the L2
   * penalty's gradient 2λw to the decayed ones first (as `l2Penalty` + tfjs' gradient would).
   * Returns the penalty λ·Σw² over the weights before the update (summed in float64), which the
   * caller adds to the step's loss. An undefined gradient leaves its parameter (and its slots) as
   * they are.
   */
  apply(params: readonly HostParameter[], grads: ReadonlyArray<Float32Array | undefined>, lr: number, l2: number): number {
    if (grads.length !== params.length) throw new HostOptimizerError(`${grads.length} gradients for ${params.length} parameters`);
    const suffixes = SLOT_SUFFIXES[this.kind];
    const { momentum, beta1, beta2, epsilon } = this.config;
    // Adam's bias corrections 1 − β^t: tfjs keeps β^t in float32 variables, multiplied once per step.
    // Replayed from the step count (a few µs even after thousands of steps) rather than taken from
    // `beta ** t`: 1 − β2^t cancels, and pow's last-bit difference moved weights by 1e-5 (measured).
    let correction1 = 1;
    let correction2 = 1;
    if (this.kind === 'Adam') {
      let p1 = Math.fround(beta1);
      let p2 = Math.fround(beta2);
      for (let t = 0; t < this.iterations; t++) {
        p1 = Math.fround(p1 * Math.fround(beta1));
        p2 = Math.fround(p2 * Math.fround(beta2));
      }
      correction1 = Math.fround(1 - p1);
      correction2 = Math.fround(1 - p2);
    }
    let penalty = 0;
    for (const [i, p] of params.entries()) {
      const g = grads[i];
      if (!g) continue; // no gradient, no update (tfjs' optimizers skip it too)
      if (g.length !== p.value.length) throw new HostOptimizerError(`gradient of ${p.name}: ${g.length} values for ${p.value.length} weights`);
      const slots = (this.slots[i] ??= suffixes.map(() => new Float32Array(p.value.length)));
      const twiceL2 = p.decayed ? 2 * l2 : 0;
      const arena = this.arena;
      let squares: number;
      if (arena && arena.wasm.holds(p.value) && slots.every((x) => arena.wasm.holds(x))) {
        // The SIMD kernels, on the arena: the gradient is copied in (onnxruntime hands out its own buffers).
        const k = arena.wasm.kernels;
        const gradient = arena.gradient.subarray(0, g.length);
        gradient.set(g);
        squares =
          this.kind === 'Momentum'
            ? k.momentum(p.value.byteOffset, gradient.byteOffset, slots[0]!.byteOffset, g.length, momentum, -lr, twiceL2)
            : k.adam(p.value.byteOffset, gradient.byteOffset, slots[0]!.byteOffset, slots[1]!.byteOffset, g.length, beta1, beta2, 1 - beta1, 1 - beta2, -lr / correction1, 1 / Math.sqrt(correction2), epsilon, twiceL2);
      } else {
        squares =
          this.kind === 'Momentum'
            ? momentumUpdate(p.value, g, slots[0]!, momentum, -lr, twiceL2)
            : adamUpdate(p.value, g, slots[0]!, slots[1]!, beta1, beta2, correction1, correction2, epsilon, -lr, twiceL2);
      }
      if (p.decayed) penalty += l2 * squares;
    }
    this.iterations++;
    return penalty;
  }

  /**
   * Take the step count and slots of `optimizer` (after a checkpoint restore, or a fresh one: zeros),
   * matching slots to `params` by name.
   */
  async load(optimizer: tf.Optimizer, params: readonly HostParameter[]): Promise<void> {
    this.assertSameKind(optimizer);
    const named = await optimizer.getWeights();
    try {
      const [iter, ...slots] = named;
      if (!iter || iter.name !== 'iter') throw new HostOptimizerError(`optimizer ${this.kind} state does not start with its step count`);
      this.iterations = (await iter.tensor.data())[0]!;
      const byName = new Map<string, tf.Tensor>(slots.map((s) => [s.name, s.tensor]));
      const suffixes = SLOT_SUFFIXES[this.kind];
      // Into the slot arrays `allocate` made (the wasm arena), else new ones.
      this.slots = params.map((p, i) =>
        suffixes.map((s, k) => {
          const into = this.slots[i]?.[k]?.length === p.value.length ? this.slots[i]![k]! : new Float32Array(p.value.length);
          const t = byName.get(`${p.name}/${s}`);
          if (!t) return into.fill(0);
          if (t.size !== p.value.length) throw new HostOptimizerError(`slot ${p.name}/${s} holds ${t.size} values for ${p.value.length} weights`);
          byName.delete(`${p.name}/${s}`);
          into.set(t.dataSync() as Float32Array);
          return into;
        }),
      );
      if (byName.size > 0) throw new HostOptimizerError(`optimizer slots for weights this model does not train: ${[...byName.keys()].slice(0, 3).join(', ')}`);
    } finally {
      // `iter` is a fresh scalar; the slots are the optimizer's own variables (not ours to free).
      named[0]?.tensor.dispose();
    }
  }

  /**
   * Write the step count and slots into `optimizer` (before a checkpoint saves it), in the order
   * tfjs' own applyGradients would have created them for gradients in `params` order.
   */
  async store(optimizer: tf.Optimizer, params: readonly HostParameter[]): Promise<void> {
    this.assertSameKind(optimizer);
    const suffixes = SLOT_SUFFIXES[this.kind];
    const values: NamedTensor[] = [{ name: 'iter', tensor: tf.scalar(this.iterations, 'int32') }];
    // tfjs lists Adam's slots as all m then all v; Momentum has one per parameter.
    suffixes.forEach((s, k) =>
      params.forEach((p, i) => {
        const slot = this.slots[i]?.[k] ?? new Float32Array(p.value.length);
        values.push({ name: `${p.name}/${s}`, tensor: tf.tensor(slot, p.shape.slice()) });
      }),
    );
    // setWeights replaces the slot variables: free the old ones (as loadOptimizerState does).
    const current = await optimizer.getWeights();
    tf.dispose(current.map((n) => n.tensor));
    try {
      await optimizer.setWeights(values);
    } finally {
      tf.dispose(values.map((v) => v.tensor)); // setWeights made variables of (copies of) them
    }
  }

  private assertSameKind(optimizer: tf.Optimizer): void {
    if (optimizer.getClassName() !== this.kind) {
      throw new HostOptimizerError(`the host optimizer is ${this.kind}, the run's is ${optimizer.getClassName()}`);
    }
  }
}

// The update loops, one pass over each parameter's arrays with the L2 gradient fused in. Top-level
// functions of Float32Arrays only, so V8 compiles each to one tight loop (inside apply's closure
// the same loops ran 5x slower). Intermediates are float64 and rounded to float32 on store; tfjs
// rounds after every op, so results differ from it by float32 rounding only.

/** SGD with momentum (tfjs' Momentum): acc = m·acc + g; w += (−lr)·acc, with g += 2λw. Returns Σw² (before). */
function momentumUpdate(w: Float32Array, g: Float32Array, acc: Float32Array, m: number, negLr: number, twiceL2: number): number {
  let squares = 0;
  const n = w.length;
  for (let j = 0; j < n; j++) {
    const wj = w[j]!;
    squares += wj * wj;
    const a = m * acc[j]! + (g[j]! + twiceL2 * wj);
    acc[j] = a;
    w[j] = wj + negLr * a;
  }
  return squares;
}

/**
 * Adam (tfjs'): m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; w += (−lr)·(m/c1) / (√(v/c2) + ε) with
 * the bias corrections c = 1 − β^t, and g += 2λw. Returns Σw² (before).
 */
function adamUpdate(
  w: Float32Array,
  g: Float32Array,
  m1: Float32Array,
  m2: Float32Array,
  beta1: number,
  beta2: number,
  c1: number,
  c2: number,
  eps: number,
  negLr: number,
  twiceL2: number,
): number {
  let squares = 0;
  const n = w.length;
  const k1 = 1 - beta1;
  const k2 = 1 - beta2;
  // (−lr)·(m/c1) / (√(v/c2) + ε) = (−lr/c1)·m / (√v·(1/√c2) + ε): one division and one square root
  // per weight instead of three divisions (the loop is bound by them; ~15 % faster, measured).
  const scale = negLr / c1;
  const invSqrtC2 = 1 / Math.sqrt(c2);
  for (let j = 0; j < n; j++) {
    const wj = w[j]!;
    squares += wj * wj;
    const gj = g[j]! + twiceL2 * wj;
    const a = m1[j]! * beta1 + gj * k1;
    const b = m2[j]! * beta2 + gj * gj * k2;
    m1[j] = a;
    m2[j] = b;
    w[j] = wj + (scale * a) / (Math.sqrt(b) * invSqrtC2 + eps);
  }
  return squares;
}
