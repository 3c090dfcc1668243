/**
 * Run an exported ONNX model (src/export/onnx.ts) with onnxruntime-node: native, multi-threaded
 * convolutions for the frozen backbone, whose forward pass is pure inference (issue 9, lever 2).
 *
 *   if (await onnxAvailable()) {
 *     const runner = await OnnxRunner.create(exportOnnx(backbone), { threads: 2 });
 *     const features = await runner.predictTensor(images);   // tf.Tensor, like backbone.predict(images)
 *   }
 *
 * onnxruntime-node is a native addon with prebuilt binaries for a few platforms; it is imported
 * lazily, so fdft still loads where it cannot, and `onnxAvailable()` says whether to fall back to
 * tfjs (`onnxUnavailableReason()` says why not). Its session.run (1.30) returns a promise but runs
 * on the calling thread, blocking it: two runs awaited together take turns.
 */
import type * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';

/** onnxruntime-node cannot be loaded on this platform (or failed to). */
export class OnnxRuntimeUnavailableError extends Error {
  override name = 'OnnxRuntimeUnavailableError';
}

/** Bad input to a runner, or a failure inside onnxruntime. */
export class OnnxRunError extends Error {
  override name = 'OnnxRunError';
}

type OrtModule = typeof Ort;
let ortLoad: Promise<OrtModule | Error> | undefined;

function loadOrt(): Promise<OrtModule | Error> {
  ortLoad ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: OrtModule }).default?.InferenceSession ? (m as unknown as { default: OrtModule }).default : (m as OrtModule)),
    (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
  );
  return ortLoad;
}

async function ort(): Promise<OrtModule> {
  const m = await loadOrt();
  if (m instanceof Error) {
    throw new OnnxRuntimeUnavailableError(
      `onnxruntime-node does not load on ${process.platform}-${process.arch} (${m.message.split('\n')[0]}); use the tfjs engine instead`,
    );
  }
  return m;
}

/** Whether onnxruntime-node loads here (the fallback signal: false → use tfjs). Never throws. */
export async function onnxAvailable(): Promise<boolean> {
  return !((await loadOrt()) instanceof Error);
}

/** Why onnxruntime-node does not load, or undefined when it does. */
export async function onnxUnavailableReason(): Promise<string | undefined> {
  const m = await loadOrt();
  return m instanceof Error ? m.message : undefined;
}

export interface OnnxRunnerOptions {
  /** Intra-op threads (default 1). onnxruntime parallelises each conv over these. */
  threads?: number;
  /**
   * Let idle worker threads spin briefly for the next op (onnxruntime's default, lowest latency).
   * Default false: spinning threads steal cores from whatever computes next — tfjs gradient workers,
   * or another session: every session has its own pool, and fine-tuning alternates the frozen
   * backbone's session with the heads' (spinning there made the no-FTT step slower in 5 of 5
   * interleaved pairs, 221–271 → 288–315 ms at batch 32; BENCHMARKS.md, ninth session). A session
   * that runs alone (pretraining's step) turns it on.
   */
  spin?: boolean;
  /**
   * onnxruntime's memory pattern (default true): after the first run it allocates one block for
   * every intermediate value of a run at once, sized as if none were freed early. Training graphs
   * turn it off: there it held the attention maps of every stage and chunk together (peak RSS of
   * `npm run bench -- parallel` at batch 32 + 128: 5.3 → 3.0 GiB, step times unchanged).
   */
  memoryPattern?: boolean;
  /** Write onnxruntime's per-node profile to `<prefix>_<date>.json` (`endProfiling()` finishes it; benches). */
  profilePrefix?: string;
  /**
   * Where the session runs (default 'cpu'). 'webgpu': onnxruntime-node's built-in WebGPU execution
   * provider (Dawn on Vulkan, Metal or D3D12; ops it lacks fall back to the CPU). Inference only
   * (`--engine onnx-webgpu`, and `npm run bench -- gpu`): on an H100 it computed some BatchNorm
   * gradients of fdft's training graphs wrong, lacks MaxPool's indices output (pretraining), and its
   * fine-tuning step was slower than the CPU provider's on the same machine's 16 cores
   * (BENCHMARKS.md, thirteenth session).
   */
  executionProvider?: 'cpu' | 'webgpu';
  /** onnxruntime graph optimisations (default 'all': fusions and the NCHWc conv layout). */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface OnnxOutput {
  data: Float32Array;
  dims: number[];
}

export class OnnxRunner {
  private constructor(
    private readonly ort: OrtModule,
    private readonly session: Ort.InferenceSession,
    /** The model's input names, in order. */
    readonly inputNames: readonly string[],
    /** The model's output names, in order. */
    readonly outputNames: readonly string[],
  ) {}

  /** Load an ONNX model (bytes from `exportOnnx`, or a file's contents). */
  static async create(bytes: Uint8Array, opts: OnnxRunnerOptions = {}): Promise<OnnxRunner> {
    const o = await ort();
    const threads = opts.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new OnnxRunError(`threads must be a positive integer, got ${opts.threads}`);
    const spin = opts.spin ?? false;
    let session: Ort.InferenceSession;
    try {
      session = await o.InferenceSession.create(bytes, {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        graphOptimizationLevel: opts.graphOptimizationLevel ?? 'all',
        executionProviders: opts.executionProvider === 'webgpu' ? [{ name: 'webgpu' }, 'cpu'] : ['cpu'],
        enableMemPattern: opts.memoryPattern ?? true,
        ...(opts.profilePrefix !== undefined && { enableProfiling: true, profileFilePrefix: opts.profilePrefix }),
        extra: { session: { intra_op: { allow_spinning: spin ? '1' : '0' } } },
      });
    } catch (e) {
      throw new OnnxRunError(`onnxruntime cannot load the model: ${(e as Error).message}`);
    }
    return new OnnxRunner(o, session, session.inputNames, session.outputNames);
  }

  /** Run a single-input model on `x` of shape `shape` (NHWC for images); returns its first output. */
  async run(x: Float32Array, shape: readonly number[]): Promise<OnnxOutput> {
    if (this.inputNames.length !== 1) {
      throw new OnnxRunError(`run() needs a single-input model; this one takes ${this.inputNames.join(', ')}: use runFeeds()`);
    }
    const out = await this.runFeeds({ [this.inputNames[0]!]: { data: x, dims: shape } });
    return out[this.outputNames[0]!]!;
  }

  /** Run with named inputs; returns every output by name. */
  async runFeeds(feeds: Record<string, { data: Float32Array; dims: readonly number[] }>): Promise<Record<string, OnnxOutput>> {
    const ortFeeds: Record<string, Ort.Tensor> = {};
    for (const name of this.inputNames) {
      const f = feeds[name];
      if (!f) throw new OnnxRunError(`missing input '${name}' (the model takes ${this.inputNames.join(', ')})`);
      const n = f.dims.reduce((a, b) => a * b, 1);
      if (n !== f.data.length) throw new OnnxRunError(`input '${name}': ${f.data.length} values for shape [${f.dims.join(', ')}]`);
      // onnxruntime refuses a feed that is not `instanceof Float32Array`. One came from tfjs under the
      // webgpu backend once on an H100 (cause not pinned down): such a feed is copied, not refused.
      const data = f.data instanceof Float32Array ? f.data : Float32Array.from(f.data as ArrayLike<number>);
      ortFeeds[name] = new this.ort.Tensor('float32', data, f.dims.slice());
    }
    let results: Ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds);
    } catch (e) {
      throw new OnnxRunError(`onnxruntime run failed: ${(e as Error).message}`);
    }
    const out: Record<string, OnnxOutput> = {};
    for (const name of this.outputNames) {
      const t = results[name]!;
      if (t.type !== 'float32') throw new OnnxRunError(`output '${name}' is ${t.type}, expected float32`);
      out[name] = { data: t.data as Float32Array, dims: t.dims.map(Number) };
    }
    return out;
  }

  /**
   * `model.predict(inputs)` through onnxruntime: float32 tensors in (NHWC images; several for a
   * model with several inputs, in its input order), its first output as a tfjs tensor (the caller
   * disposes it). Uses the tfjs module the caller uses, so the result lives on its backend.
   * With `maxBatch`, a larger batch runs in slices of at most that many images (every input cut
   * along its first axis; the outputs joined in order): see MAX_INFERENCE_BATCH.
   */
  async predictTensor(inputs: tf.Tensor | readonly tf.Tensor[], tfjs?: typeof tf, maxBatch = Infinity): Promise<tf.Tensor> {
    const list = Array.isArray(inputs) ? (inputs as readonly tf.Tensor[]) : [inputs as tf.Tensor];
    if (list.length !== this.inputNames.length) throw new OnnxRunError(`the model takes ${this.inputNames.length} input(s) (${this.inputNames.join(', ')}), got ${list.length}`);
    const values: Array<{ data: Float32Array; dims: readonly number[] }> = [];
    for (const [i, x] of list.entries()) {
      if (x.dtype !== 'float32') throw new OnnxRunError(`predictTensor needs float32 tensors, input ${i} is ${x.dtype}`);
      values.push({ data: (await x.data()) as Float32Array, dims: x.shape });
    }
    const n = values[0]!.dims[0] ?? 1;
    if (values.some((v) => v.dims[0] !== n)) throw new OnnxRunError(`the inputs' batch sizes differ: ${values.map((v) => v.dims[0]).join(', ')}`);
    const t = tfjs ?? ((await import('@tensorflow/tfjs')) as typeof tf);
    const runOnce = async (inputs: typeof values) => (await this.runFeeds(Object.fromEntries(inputs.map((v, i) => [this.inputNames[i]!, v]))))[this.outputNames[0]!]!;
    if (!(n > maxBatch && maxBatch >= 1)) {
      const y = await runOnce(values);
      return t.tensor(y.data, y.dims, 'float32');
    }
    // Images [start, start + count) of every input (subarray views: no copy).
    const slice = (start: number, count: number) => values.map((v) => ({ data: v.data.subarray((start * v.data.length) / n, ((start + count) * v.data.length) / n), dims: [count, ...v.dims.slice(1)] }));
    const step = Math.floor(maxBatch);
    let out: OnnxOutput | undefined; // the whole batch's output, filled slice by slice
    for (let start = 0; start < n; start += step) {
      const y = await runOnce(slice(start, Math.min(step, n - start)));
      out ??= { data: new Float32Array((y.data.length / y.dims[0]!) * n), dims: [n, ...y.dims.slice(1)] };
      out.data.set(y.data, (start * out.data.length) / n);
    }
    return t.tensor(out!.data, out!.dims, 'float32');
  }

  /** Stop profiling (OnnxRunnerOptions.profilePrefix) and flush the profile file. */
  endProfiling(): void {
    this.session.endProfiling();
  }

  /** Free the native session. */
  async dispose(): Promise<void> {
    await this.session.release();
  }
}
