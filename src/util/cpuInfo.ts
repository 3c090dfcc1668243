/**
 * The CPU a run computed on, for run.json, `fdft engine` and the benches: onnxruntime picks its
 * kernels by the CPU's vector extensions (AVX-512, AVX2, …), and kernels of different widths sum in
 * different orders, so a run repeats bit for bit only on the same kind of CPU (and thread count).
 * Node reports the model name but not the extensions; on Linux they are the `flags` line of
 * /proc/cpuinfo (read here: the npm packages that report them are native addons or large system
 * surveys, for one line of text).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** The widest vector extension a CPU reports (onnxruntime's kernels follow it). */
export type VectorExtension = 'AVX-512' | 'AVX2' | 'AVX' | 'SSE4.1' | 'NEON' | 'unknown';

export interface CpuInfo {
  model: string;
  /** Logical cores Node may use (os.availableParallelism). */
  cores: number;
  vector: VectorExtension;
}

/** The widest vector extension named in a /proc/cpuinfo text (x86 `flags`, arm `Features`). */
export function vectorExtension(cpuinfo: string): VectorExtension {
  const line = cpuinfo.split('\n').find((l) => /^(flags|Features)\s*:/.test(l));
  if (!line) return 'unknown';
  const flags = new Set(line.slice(line.indexOf(':') + 1).trim().split(/\s+/));
  if (flags.has('avx512f')) return 'AVX-512';
  if (flags.has('avx2')) return 'AVX2';
  if (flags.has('avx')) return 'AVX';
  if (flags.has('sse4_1')) return 'SSE4.1';
  if (flags.has('asimd') || flags.has('neon')) return 'NEON';
  return 'unknown';
}

let cached: CpuInfo | undefined;

export function cpuInfo(): CpuInfo {
  if (cached) return cached;
  let vector: VectorExtension = os.arch() === 'arm64' ? 'NEON' : 'unknown'; // every arm64 core has Advanced SIMD
  try {
    const named = os.platform() === 'linux' ? vectorExtension(readFileSync('/proc/cpuinfo', 'utf8')) : 'unknown';
    if (named !== 'unknown') vector = named;
  } catch {
    // No /proc (a container without it): the extensions stay unknown; nothing depends on them.
  }
  cached = { model: os.cpus()[0]?.model?.trim() || os.arch(), cores: os.availableParallelism(), vector };
  return cached;
}

/** "AMD EPYC × 2, AVX2". */
export function describeCpu(c: CpuInfo = cpuInfo()): string {
  return `${c.model} × ${c.cores}, ${c.vector}`;
}
