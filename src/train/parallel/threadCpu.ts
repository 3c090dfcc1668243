/**
 * CPU time of the calling thread (main or worker), in ms, for benchmarks: on a shared machine the
 * wall time of a step says little, the CPU time of the busiest thread says what an idle machine
 * would take. Linux only (/proc/thread-self/stat, utime + stime in USER_HZ = 100 ticks/s, i.e.
 * 10 ms resolution); undefined elsewhere. Node 20 has no per-thread `threadCpuUsage()`.
 */
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

export function threadCpuMs(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}
