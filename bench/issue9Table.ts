/**
 * Issue 9's reference figures: the identical networks in PyTorch 1.13 CPU with oneDNN, 2 threads,
 * on the issue author's 2-core machine, ms per run. `npm run bench -- reference` measures PyTorch
 * on this machine beside fdft instead, where PyTorch is installed.
 */
export const ISSUE9_PYTORCH_MS = {
  /** FDFtNet training step (Xception-64 frozen, M=3, N=4, SGD). */
  finetune: { 32: 615, 128: 3080 },
  /** FDFtNet forward (inference). */
  forward: { 32: 284, 128: 1740 },
  /** FDFtNet without FTT, training step. */
  noftt: { 32: 137, 128: 667 },
  /** Xception pre-training step (all weights trainable). */
  pretrain: { 32: 336, 128: 1640 },
} as const satisfies Record<string, Record<number, number>>;

export type Issue9Workload = keyof typeof ISSUE9_PYTORCH_MS;

/** The figure for a workload and batch size, or undefined where the table has none. */
export function issue9Ms(workload: Issue9Workload, batch: number): number | undefined {
  return (ISSUE9_PYTORCH_MS[workload] as Record<number, number>)[batch];
}
