/**
 * The WebGPU backend in Node: `@tensorflow/tfjs-backend-webgpu` on Dawn, through the `webgpu` npm
 * package (dawn.node, prebuilt inside the package: nothing downloaded at install). Both are optional
 * peer dependencies, like tfjs-node: `--backend webgpu` uses them where the user installed them
 * (README, "GPU"). Dawn reaches the GPU through Vulkan on Linux (the driver's ICD and libvulkan1),
 * Metal on macOS and D3D12 on Windows.
 *
 * Two things differ from the package's own registration (tfjs-backend-webgpu 4.22, src/base.ts):
 *  - the device asks for the adapter's limit of storage buffers per shader stage. The package keeps
 *    WebGPU's default of 8, and its AddN binds one buffer per input: summing a weight's gradient
 *    over 39 uses (FDFtNet's training step) made an invalid pipeline, and the "sum" was garbage
 *    while the step went on (H100, Dawn/Vulkan; BENCHMARKS.md, thirteenth session);
 *  - AddN over more inputs than the device binds is summed in groups (addNInGroups), so that no
 *    adapter, however small its limit, gets an invalid pipeline.
 */
import * as tf from '@tensorflow/tfjs';

export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

/** What `--backend webgpu` needs installed; the versions fdft is tested with. */
export const WEBGPU_INSTALL = 'npm install --no-save webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0';

/** The adapter fdft got (for logs and `fdft engine`). */
export interface WebGpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
}

interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  info?: Partial<Record<'vendor' | 'architecture' | 'device' | 'description', string>>;
  limits: Record<string, number>;
  features: Set<string>;
  requestDevice(d: { requiredFeatures?: string[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}

/** tfjs' AddN kernel function (its inputs arrive as an array). */
type AddNKernel = (args: { inputs: tf.NamedTensorMap | tf.TensorInfo[]; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap }) => tf.TensorInfo;

/**
 * Wraps the webgpu AddN so that no program binds more than `maxInputs` inputs: a sum of many is the
 * sum of sums of groups (float addition in another order: the same to rounding).
 */
export function addNInGroups(original: AddNKernel, maxInputs: number): AddNKernel {
  if (!(maxInputs >= 2)) throw new RangeError(`addNInGroups: maxInputs must be ≥ 2, got ${maxInputs}`);
  return ({ inputs, backend, attrs }) => {
    let list = Object.values(inputs) as tf.TensorInfo[];
    const made: tf.TensorInfo[] = [];
    while (list.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < list.length; i += maxInputs) {
        const group = list.slice(i, i + maxInputs);
        if (group.length === 1) next.push(group[0]!);
        else {
          const sum = original({ inputs: group, backend, attrs });
          made.push(sum);
          next.push(sum);
        }
      }
      list = next;
    }
    const out = original({ inputs: list, backend, attrs });
    for (const t of made) backend.disposeData(t.dataId);
    return out;
  };
}

/** Exposes Dawn as `navigator.gpu` and its GPU* classes as globals, as a browser has them. */
async function dawn(): Promise<GpuLike> {
  let m: { create: (options: string[]) => GpuLike; globals: Record<string, unknown> };
  try {
    m = (await import('webgpu' as string)) as typeof m;
  } catch (e) {
    throw new WebGpuUnavailableError(`it needs the optional packages webgpu and @tensorflow/tfjs-backend-webgpu (${WEBGPU_INSTALL}): ${(e as Error).message.split('\n')[0]}`);
  }
  Object.assign(globalThis, m.globals);
  const g = globalThis as unknown as { navigator?: { gpu?: GpuLike } };
  if (!g.navigator?.gpu) {
    // Node 21+ has a navigator without gpu; Node 20 has none.
    const gpu = m.create([]);
    if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
    else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  }
  return g.navigator!.gpu!;
}

let loaded: Promise<WebGpuAdapterInfo> | undefined;

/**
 * Registers the 'webgpu' tfjs backend on a device with the adapter's storage-buffer limit. Throws
 * WebGpuUnavailableError when a package is missing or Dawn finds no GPU. Once per process.
 */
export function registerWebGpuBackend(): Promise<WebGpuAdapterInfo> {
  loaded ??= (async () => {
    const gpu = await dawn();
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      throw new WebGpuUnavailableError(
        "Dawn found no GPU adapter: on Linux it needs libvulkan1 and the GPU driver's Vulkan ICD (NVIDIA's also needs libglvnd0, libegl1 and libgl1; set VK_DRIVER_FILES to the ICD's json where the loader does not find it)",
      );
    }
    let webgpu: { WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend };
    try {
      webgpu = (await import('@tensorflow/tfjs-backend-webgpu' as string)) as typeof webgpu;
    } catch (e) {
      throw new WebGpuUnavailableError(`it needs the optional package @tensorflow/tfjs-backend-webgpu (${WEBGPU_INSTALL}): ${(e as Error).message.split('\n')[0]}`);
    }
    const addN = tf.getKernel('AddN', 'webgpu');
    if (!addN) {
      throw new WebGpuUnavailableError(`@tensorflow/tfjs-backend-webgpu registered its kernels on another copy of @tensorflow/tfjs: install version ${tf.version_core} (${WEBGPU_INSTALL})`);
    }
    const limits = adapter.limits;
    const requiredLimits: Record<string, number> = {};
    for (const name of [
      // The package's own choices (src/base.ts) …
      'maxComputeWorkgroupStorageSize', 'maxComputeWorkgroupsPerDimension', 'maxStorageBufferBindingSize',
      'maxBufferSize', 'maxComputeWorkgroupSizeX', 'maxComputeInvocationsPerWorkgroup',
      // … and the one it leaves at WebGPU's default of 8 (see the file's comment).
      'maxStorageBuffersPerShaderStage',
    ]) {
      if (typeof limits[name] === 'number') requiredLimits[name] = limits[name]!;
    }
    const requiredFeatures = ['timestamp-query'].filter((f) => adapter.features.has(f));
    const maxBuffers = requiredLimits.maxStorageBuffersPerShaderStage ?? 8;
    // AddN binds its inputs and its output.
    tf.unregisterKernel('AddN', 'webgpu');
    tf.registerKernel({ ...addN, kernelFunc: addNInGroups(addN.kernelFunc as unknown as AddNKernel, maxBuffers - 1) as unknown as tf.KernelFunc });
    tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', async () => new webgpu.WebGPUBackend(await adapter.requestDevice({ requiredFeatures, requiredLimits }), adapter.info));
    const info = adapter.info ?? {};
    return {
      vendor: info.vendor ?? '',
      architecture: info.architecture ?? '',
      device: info.device ?? '',
      description: info.description ?? '',
    };
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

/** A line for logs: "nvidia hopper (NVIDIA H100 80GB HBM3)". */
export function describeAdapter(a: WebGpuAdapterInfo): string {
  const name = [a.vendor, a.architecture].filter(Boolean).join(' ') || 'unknown adapter';
  const detail = a.description || a.device;
  return detail ? `${name} (${detail})` : name;
}
