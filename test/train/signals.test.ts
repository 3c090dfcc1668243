import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { installInterruptHandler, INTERRUPTED_EXIT_CODE, TrainingInterruptedError } from '../../src/train/signals.ts';

test('first signal raises the flag, second exits at once; dispose removes the listeners', () => {
  const exits: number[] = [];
  const msgs: string[] = [];
  const before = process.listenerCount('SIGUSR2');
  const h = installInterruptHandler({ signals: ['SIGUSR2'], exit: (c) => exits.push(c), notify: (m) => msgs.push(m) });
  assert.equal(process.listenerCount('SIGUSR2'), before + 1);
  assert.equal(h.requested(), false);
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.equal(h.requested(), true);
  assert.equal(h.signal(), 'SIGUSR2');
  assert.deepEqual(exits, []);
  assert.match(msgs[0]!, /finishing the current step/);
  process.emit('SIGUSR2', 'SIGUSR2');
  assert.deepEqual(exits, [INTERRUPTED_EXIT_CODE]);
  h.dispose();
  h.dispose();
  assert.equal(process.listenerCount('SIGUSR2'), before);
  assert.equal(new TrainingInterruptedError().exitCode, 130);
});

/** Run a small "training loop" in a child process and send it real SIGINTs. */
function runChild(ignoreFlag: boolean, sigints: number): Promise<{ code: number | null; out: string }> {
  const mod = pathToFileURL(join(process.cwd(), 'src/train/signals.ts')).href;
  const code = `
    const { installInterruptHandler, INTERRUPTED_EXIT_CODE } = await import(${JSON.stringify(mod)});
    const h = installInterruptHandler({ notify: () => {} });
    console.log('ready');
    for (let step = 1; ; step++) {
      await new Promise((r) => setTimeout(r, 20)); // one training step
      if (h.requested() && !${ignoreFlag}) {
        console.log('checkpoint after step ' + step);
        h.dispose();
        process.exit(INTERRUPTED_EXIT_CODE);
      }
    }
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b) => {
      out += String(b);
      if (out.includes('ready') && sigints > 0) {
        sigints -= 1;
        child.kill('SIGINT');
        if (sigints > 0) setTimeout(() => child.kill('SIGINT'), 200);
        sigints = 0;
      }
    });
    child.on('exit', (code) => resolve({ code, out }));
  });
}

test('Ctrl-C in a running loop: the step finishes, a checkpoint is written, exit code 130', async () => {
  const r = await runChild(false, 1);
  assert.equal(r.code, 130);
  assert.match(r.out, /checkpoint after step \d+/);
});

test('a second Ctrl-C quits at once with 130', async () => {
  const r = await runChild(true, 2);
  assert.equal(r.code, 130);
  assert.doesNotMatch(r.out, /checkpoint/);
});
