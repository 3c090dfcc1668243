/**
 * Shared plumbing of the training commands: engine start, progress reporter for the chosen log
 * mode, Ctrl-C handling (finish the step, checkpoint, exit 130), and printing the test result.
 */
import type { GlobalOptions } from './globalOptions.ts';
import type { RunResult } from '../train/runLifecycle.ts';

export async function trainingContext(argv: GlobalOptions) {
  const { initEngine } = await import('../engine/index.ts');
  const { ProgressReporter } = await import('../train/progress.ts');
  const { installInterruptHandler } = await import('../train/signals.ts');
  const mode = argv.quiet ? 'quiet' : argv.json ? 'json' : 'auto';
  const reporter = new ProgressReporter({ mode });
  await initEngine(argv.backend, (m) => reporter.log(m));
  const interrupt = installInterruptHandler();
  return { reporter, interrupt };
}

/** An argument as a shell would need it typed (paths with spaces or quotes). */
function shellArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface ResumeHint {
  /** The command whose --resume continues the job. */
  command: 'train' | 'pretrain';
  /** What that resume does beyond continuing the run, in a few words. */
  then?: string;
}

/** The one line telling how to continue an interrupted run. */
function interruptedMessage(runDir: string, hint: ResumeHint): string {
  return `interrupted: checkpoint in ${runDir}; continue with: fdft ${hint.command} --resume ${shellArg(runDir)}${hint.then ? ` (${hint.then})` : ''}`;
}

export async function printResult(result: RunResult, argv: GlobalOptions, hint: ResumeHint): Promise<void> {
  if (result.status === 'interrupted') {
    process.stderr.write(interruptedMessage(result.runDir, hint) + '\n');
    process.exitCode = 130;
    return;
  }
  if (!result.test) return;
  if (argv.json) {
    console.log(JSON.stringify({ run: result.runDir, test: result.test }));
    return;
  }
  const { formatMetricsTable } = await import('../eval/report.ts');
  console.log(`\nTest split — ${result.runDir}`);
  console.log(formatMetricsTable(result.test));
  console.log(`\ntest accuracy ${(result.test.accuracy * 100).toFixed(2)} %  AUROC ${(result.test.auroc * 100).toFixed(2)} %`);
}

/** Resume: take the stored config of the run, letting explicit options only be checked against it. */
export async function storedConfig(runDir: string) {
  const { readRunInfo } = await import('../train/runDir.ts');
  const info = await readRunInfo(runDir);
  return info.config as import('../train/config.ts').TrainConfig;
}
