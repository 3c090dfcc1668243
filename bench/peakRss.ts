/** Peak resident set size of this process so far, in MiB (Linux/macOS `ru_maxrss`). */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}
