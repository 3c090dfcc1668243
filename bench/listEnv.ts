/** A comma-separated list from the environment variable `name`, or from `fallback` where it is unset. */
export function listEnv(name: string, fallback: string): string[] {
  return (process.env[name] ?? fallback).split(',').map((s) => s.trim()).filter(Boolean);
}
