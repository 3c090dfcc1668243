/**
 * Graceful Ctrl-C for training: the first SIGINT or SIGTERM only raises a flag, so the loop can
 * finish its current step, write a checkpoint and exit with `INTERRUPTED_EXIT_CODE` (130, the shell's
 * code for death by SIGINT); a second SIGINT / SIGTERM exits at once (130 / 143).
 */

export const INTERRUPTED_EXIT_CODE = 130;

/** Thrown (or returned) by a loop that stopped because of an interrupt; the CLI exits with `exitCode`. */
export class TrainingInterruptedError extends Error {
  override name = 'TrainingInterruptedError';
  readonly exitCode = INTERRUPTED_EXIT_CODE;
  constructor(message = 'interrupted: checkpoint written, resume with --resume') {
    super(message);
  }
}

export interface InterruptHandler {
  /** True once a first SIGINT/SIGTERM arrived. */
  requested(): boolean;
  /** The signal that raised the flag, if any. */
  signal(): NodeJS.Signals | undefined;
  /** Remove the listeners (call in `finally`). */
  dispose(): void;
}

export interface InterruptHandlerOptions {
  /** Message printer for the first signal (default: a line on stderr). */
  notify?: (msg: string) => void;
  /** Immediate exit on the second signal (default process.exit); tests replace it. */
  exit?: (code: number) => void;
  /** Signals to handle (default SIGINT and SIGTERM). */
  signals?: NodeJS.Signals[];
}

const EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function installInterruptHandler(opts: InterruptHandlerOptions = {}): InterruptHandler {
  const notify = opts.notify ?? ((m: string) => process.stderr.write(m + '\n'));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const signals = opts.signals ?? ['SIGINT', 'SIGTERM'];
  let first: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    if (first === undefined) {
      first = sig;
      notify(`\n${sig}: finishing the current step and writing a checkpoint (press Ctrl-C again to quit at once)`);
      return;
    }
    notify(`\n${sig} again: quitting without a checkpoint`);
    exit(EXIT_CODES[sig] ?? INTERRUPTED_EXIT_CODE);
  };
  for (const s of signals) process.on(s, onSignal);
  let disposed = false;
  return {
    requested: () => first !== undefined,
    signal: () => first,
    dispose: () => {
      if (disposed) return;
      disposed = true;
      for (const s of signals) process.removeListener(s, onSignal);
    },
  };
}
