/**
 * Training progress output in four modes:
 *   tty   — a cli-progress bar per epoch: epoch, step, loss, accuracy, images/s, epoch ETA, run ETA
 *   plain — one line per epoch (CI logs, pipes)
 *   json  — one JSON object per line: {"event":"epoch_start"|"step"|"epoch"|"log"|"error", …}
 *   quiet — nothing but errors
 * `auto` picks tty when the stream is a TTY, else plain. Epoch numbers are printed as given (the
 * loop passes 1-based epochs).
 */
import type { Writable } from 'node:stream';
import cliProgress, { type MultiBar, type SingleBar } from 'cli-progress';

export type ProgressMode = 'tty' | 'plain' | 'json' | 'quiet';

export class ProgressError extends Error {
  override name = 'ProgressError';
}

export interface ProgressReporterOptions {
  mode?: ProgressMode | 'auto';
  /** Where output goes (default: stdout for json, stderr otherwise: results stay on stdout). */
  stream?: NodeJS.WritableStream | Writable;
  /** Clock in ms (default Date.now); tests fix it. */
  now?: () => number;
}

export interface StepInfo {
  /** 1-based step within the epoch. */
  step: number;
  loss: number;
  acc?: number;
  imagesPerSec?: number;
}

/** What the loop knows at the end of an epoch; extra keys are passed through to json. */
export interface EpochSummary {
  epoch: number;
  epochs?: number;
  loss: number;
  acc?: number;
  valLoss?: number;
  valAcc?: number;
  valAuroc?: number;
  lr?: number;
  /** Seconds the epoch took (measured by the reporter when absent). */
  seconds?: number;
  imagesPerSec?: number;
  /** This epoch is the new best (marked with `*`). */
  improved?: boolean;
  [extra: string]: unknown;
}

export function resolveProgressMode(mode: ProgressMode | 'auto' | undefined, stream: { isTTY?: boolean }): ProgressMode {
  if (mode === undefined || mode === 'auto') return stream.isTTY ? 'tty' : 'plain';
  if (!['tty', 'plain', 'json', 'quiet'].includes(mode)) throw new ProgressError(`unknown progress mode '${String(mode)}'`);
  return mode;
}

/** 3725 s → "1h02m", 75 s → "1m15s", 4 s → "4s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  return v.toFixed(digits);
}

function fmtLr(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-3 ? v.toExponential(2) : String(Number(v.toPrecision(4)));
}

export class ProgressReporter {
  readonly mode: ProgressMode;
  private readonly stream: NodeJS.WritableStream | Writable;
  private readonly now: () => number;
  private multibar: MultiBar | null = null;
  private bar: SingleBar | null = null;
  private epoch = 0;
  private epochs = 0;
  private steps = 0;
  private epochStart = 0;
  private lastStep = 0;
  private lastIps: number | undefined;
  private finishedEpochSeconds: number[] = [];
  private lastDraw = 0;
  private readonly restoreTerminal = () => this.stop();

  constructor(opts: ProgressReporterOptions = {}) {
    const fallback = opts.mode === 'json' ? process.stdout : process.stderr;
    this.stream = opts.stream ?? fallback;
    this.mode = resolveProgressMode(opts.mode, this.stream as { isTTY?: boolean });
    this.now = opts.now ?? Date.now;
  }

  private write(line: string): void {
    this.stream.write(line + '\n');
  }

  private json(obj: Record<string, unknown>): void {
    // Non-finite numbers are not JSON: write them as strings so NaN losses stay visible.
    this.write(JSON.stringify(obj, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)));
  }

  /** Estimated seconds left in the run, from the mean epoch time so far and this epoch's progress. */
  private runEtaSeconds(): number | undefined {
    const elapsed = (this.now() - this.epochStart) / 1000;
    const meanEpoch = this.finishedEpochSeconds.length
      ? this.finishedEpochSeconds.reduce((a, b) => a + b, 0) / this.finishedEpochSeconds.length
      : this.lastStep > 0
        ? (elapsed / this.lastStep) * this.steps
        : undefined;
    if (meanEpoch === undefined) return undefined;
    const thisEpochLeft = this.lastStep > 0 ? (elapsed / this.lastStep) * (this.steps - this.lastStep) : meanEpoch;
    return thisEpochLeft + Math.max(0, this.epochs - this.epoch) * meanEpoch;
  }

  startEpoch(epoch: number, epochs: number, steps: number): void {
    this.epoch = epoch;
    this.epochs = epochs;
    this.steps = steps;
    this.epochStart = this.now();
    this.lastStep = 0;
    this.lastIps = undefined;
    if (this.mode === 'json') this.json({ event: 'epoch_start', epoch, epochs, steps });
    else if (this.mode === 'tty') {
      if (!this.multibar) {
        this.multibar = new cliProgress.MultiBar({
          stream: this.stream as NodeJS.WritableStream,
          format:
            'epoch {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} acc {acc} | {ips} img/s | ETA {eta_formatted} (run {runEta})',
          barsize: 24,
          hideCursor: false,
          clearOnComplete: false,
          stopOnComplete: false,
          etaBuffer: 20,
          // signals.ts owns SIGINT/SIGTERM; cli-progress must not install its own handlers.
          gracefulExit: false,
        });
        // The bar turns terminal line-wrapping off; turn it back on even if the run dies without stop().
        process.once('exit', this.restoreTerminal);
      }
      // One bar for the whole run, restarted per epoch (MultiBar would keep redrawing old bars).
      const payload = { epoch, epochs, loss: '-', acc: '-', ips: '-', runEta: '?' };
      if (this.bar) this.bar.start(steps, 0, payload);
      else this.bar = this.multibar.create(steps, 0, payload);
    }
  }

  step({ step, loss, acc, imagesPerSec }: StepInfo): void {
    this.lastStep = step;
    this.lastIps = imagesPerSec ?? this.lastIps;
    if (this.mode === 'json') this.json({ event: 'step', epoch: this.epoch, step, steps: this.steps, loss, acc, imagesPerSec });
    else if (this.mode === 'tty' && this.bar) {
      const eta = this.runEtaSeconds();
      this.bar.update(step, {
        loss: fmt(loss),
        acc: fmt(acc, 3),
        ips: imagesPerSec === undefined ? '-' : imagesPerSec.toFixed(0),
        runEta: eta === undefined ? '?' : formatDuration(eta),
      });
      // MultiBar redraws on a timer, which never fires while a CPU-bound loop awaits only
      // microtasks (tensor.data()); redraw here, at most 10 times a second.
      const now = this.now();
      if (this.multibar && now - this.lastDraw >= 100) {
        this.lastDraw = now;
        this.multibar.update();
      }
    }
  }

  endEpoch(summary: EpochSummary): void {
    const seconds = summary.seconds ?? (this.now() - this.epochStart) / 1000;
    this.finishedEpochSeconds.push(seconds);
    const full = { ...summary, epochs: summary.epochs ?? this.epochs, seconds, imagesPerSec: summary.imagesPerSec ?? this.lastIps };
    if (this.mode === 'json') {
      this.json({ event: 'epoch', ...full });
      return;
    }
    if (this.mode === 'quiet') return;
    const eta = Math.max(0, (full.epochs ?? 0) - summary.epoch) * (this.finishedEpochSeconds.reduce((a, b) => a + b, 0) / this.finishedEpochSeconds.length);
    const parts = [
      `epoch ${summary.epoch}${full.epochs ? `/${full.epochs}` : ''}`,
      `loss ${fmt(summary.loss)}`,
      ...(summary.acc !== undefined ? [`acc ${fmt(summary.acc)}`] : []),
      ...(summary.valLoss !== undefined ? [`val_loss ${fmt(summary.valLoss)}`] : []),
      ...(summary.valAcc !== undefined ? [`val_acc ${fmt(summary.valAcc)}`] : []),
      ...(summary.valAuroc !== undefined ? [`val_auroc ${fmt(summary.valAuroc)}`] : []),
      ...(summary.lr !== undefined ? [`lr ${fmtLr(summary.lr)}`] : []),
      `${seconds.toFixed(1)}s`,
      ...(full.imagesPerSec !== undefined ? [`${full.imagesPerSec.toFixed(0)} img/s`] : []),
      ...(full.epochs ? [`ETA ${formatDuration(eta)}`] : []),
    ];
    const line = parts.join('  ') + (summary.improved ? '  *' : '');
    if (this.mode === 'tty' && this.multibar) {
      this.bar?.update(this.steps);
      this.multibar.log(line + '\n');
      // MultiBar prints logged lines above the bars at its next redraw.
      this.multibar.update();
    } else this.write(line);
  }

  /** An informational message (not shown in quiet mode). */
  log(msg: string): void {
    if (this.mode === 'json') this.json({ event: 'log', message: msg });
    else if (this.mode === 'quiet') return;
    else if (this.mode === 'tty' && this.multibar) {
      this.multibar.log(msg + '\n');
      this.multibar.update();
    } else this.write(msg);
  }

  /** An error message: shown in every mode, quiet included. */
  error(msg: string): void {
    if (this.mode === 'json') this.json({ event: 'error', message: msg });
    else if (this.mode === 'tty' && this.multibar) {
      this.multibar.log(`error: ${msg}\n`);
      this.multibar.update();
    } else this.write(`error: ${msg}`);
  }

  /** Stop the bar (and its redraw timer). Safe to call more than once. */
  stop(): void {
    if (this.multibar) {
      process.removeListener('exit', this.restoreTerminal);
      this.multibar.stop();
      this.multibar = null;
      this.bar = null;
    }
  }
}
