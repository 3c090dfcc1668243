/**
 * trainLoop's contract with a HostStep (the onnx engine's step, which keeps the weights and the
 * optimizer's state outside tfjs during an epoch): `pull` before the first step and after a resume,
 * `push` after each epoch's steps and before anything reads the model or the optimizer —
 * validation and the checkpoint see the pushed weights, an interrupted (Ctrl-C) epoch is pushed
 * before its checkpoint, and a resumed run pulls what the checkpoint restored.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as tf from '@tensorflow/tfjs';
import { initEngine } from '../../src/engine/index.ts';
import { trainLoop, type Batch, type HostStep } from '../../src/train/loop.ts';
import { ProgressReporter } from '../../src/train/progress.ts';
import { PAPER_AUGMENT, type TrainConfig } from '../../src/train/config.ts';

before(async () => {
  await initEngine('wasm', () => {});
});

const config = {
  command: 'pretrain', backbone: 'dense', M: 1, N: 1, useFtt: false, bottleneck: 8, l2: 0, data: 'synthetic', datasetName: 'synthetic',
  inputSize: 2, fit: 'squash', split: 'train', epochs: 3, stepsPerEpoch: 2, batch: 2, optimizer: 'sgd', lr: 0.1, momentum: 0.9,
  schedule: 'constant', patience: 10, monitor: 'val_loss', bnMomentum: 0.99, preciseBn: 0, augment: PAPER_AUGMENT, seed: 1,
} satisfies TrainConfig;

function model(): tf.LayersModel {
  const input = tf.input({ shape: [2, 2, 1] });
  const flat = tf.layers.flatten().apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, activation: 'softmax', kernelInitializer: 'zeros' }).apply(flat) as tf.SymbolicTensor });
}

/** Two batches per epoch, from step `fromStep` on (as a resumed epoch asks). */
const batches = () =>
  function* (_epoch: number, fromStep = 0): Generator<Batch> {
    for (let s = fromStep; s < 2; s++) yield { xs: tf.ones([2, 2, 2, 1]) as tf.Tensor4D, ys: tf.tensor2d([[1, 0], [0, 1]]) };
  };

/**
 * A HostStep whose "update" adds 1 to every host weight per step and counts steps as its optimizer
 * state; it logs every call, and what the tfjs model holds at each push.
 */
function recordingHostStep(m: tf.LayersModel, log: string[]): HostStep & { steps: () => number } {
  let host: Float32Array[] | undefined;
  let steps = 0;
  return {
    pull: async (optimizer) => {
      host = m.trainableWeights.map((w) => Float32Array.from(w.read().dataSync()));
      const [iter] = await optimizer.getWeights();
      steps = iter ? (iter.tensor.dataSync()[0] as number) : 0;
      log.push(`pull(steps=${steps})`);
    },
    step: async () => {
      if (!host) throw new Error('step before pull');
      for (const h of host) h.fill(h[0]! + 1);
      steps++;
      log.push('step');
      return { loss: 0.5, correct: 1 };
    },
    push: async (optimizer) => {
      m.trainableWeights.forEach((w, i) => w.write(tf.tensor(host![i]!, w.shape as number[])));
      await optimizer.setWeights([{ name: 'iter', tensor: tf.scalar(steps, 'int32') }]);
      log.push(`push(w=${host![0]![0]})`);
    },
    steps: () => steps,
  };
}

const quiet = () => new ProgressReporter({ mode: 'quiet', stream: new Writable({ write: (_c, _e, cb) => cb() }) });

test('pull before the first step, push after each epoch and before validation and the checkpoint', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'fdft-loop-'));
  const m = model();
  const log: string[] = [];
  try {
    const result = await trainLoop({
      config, runDir, trainModel: m, artefact: m, inputsFor: (xs) => xs, batches: batches(), stepsPerEpoch: 2, reporter: quiet(),
      hostStep: recordingHostStep(m, log),
      validation: {
        score: async () => {
          log.push(`validate(w=${m.trainableWeights[0]!.read().dataSync()[0]})`);
          return { scores: Float32Array.of(0.2, 0.8), labels: Uint8Array.of(0, 1), loss: 1 / (1 + log.length) };
        },
      },
    });
    assert.equal(result.epochsCompleted, 3);
    assert.deepEqual(log, [
      'pull(steps=0)',
      'step', 'step', 'push(w=2)', 'validate(w=2)',
      'step', 'step', 'push(w=4)', 'validate(w=4)',
      'step', 'step', 'push(w=6)', 'validate(w=6)',
    ]);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});

test('an interrupted epoch is pushed before its checkpoint, and the resumed run pulls what it restored', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'fdft-loop-'));
  const validation = { score: async () => ({ scores: Float32Array.of(0.2, 0.8), labels: Uint8Array.of(0, 1), loss: 1 }) };
  try {
    const first = model();
    const log: string[] = [];
    let stepsSeen = 0;
    const interruptedRun = await trainLoop({
      config, runDir, trainModel: first, artefact: first, inputsFor: (xs) => xs, batches: batches(), stepsPerEpoch: 2, reporter: quiet(), validation,
      hostStep: recordingHostStep(first, log),
      interrupted: () => log.filter((l) => l === 'step').length - stepsSeen === 3, // Ctrl-C after the third step (epoch 2, step 1)
    });
    assert.equal(interruptedRun.interrupted, true);
    assert.deepEqual(log, ['pull(steps=0)', 'step', 'step', 'push(w=2)', 'step', 'push(w=3)']);
    stepsSeen = 3;

    // A new process: fresh model and optimizer; the checkpoint holds the pushed weights (3) and step count (3).
    const second = model();
    const resumedLog: string[] = [];
    const resumed = await trainLoop({
      config, runDir, trainModel: second, artefact: second, inputsFor: (xs) => xs, batches: batches(), stepsPerEpoch: 2, reporter: quiet(), validation,
      hostStep: recordingHostStep(second, resumedLog),
      resume: true,
    });
    assert.equal(resumed.epochsCompleted, 3);
    // Resumes inside epoch 2 at step 2: one step there, then two per epoch.
    assert.deepEqual(resumedLog, ['pull(steps=3)', 'step', 'push(w=4)', 'step', 'step', 'push(w=6)']);
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
});
