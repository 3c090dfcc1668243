import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertFiniteLoss, NonFiniteLossError } from '../../src/train/nanGuard.ts';

test('finite losses pass; NaN and ±Infinity raise NonFiniteLossError naming epoch and step', () => {
  assertFiniteLoss(0.693, 1, 1);
  assertFiniteLoss(0, 1, 2);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(
      () => assertFiniteLoss(bad, 7, 13),
      (e: unknown) =>
        e instanceof NonFiniteLossError &&
        e.name === 'NonFiniteLossError' &&
        e.epoch === 7 &&
        e.step === 13 &&
        Object.is(e.value, bad) &&
        e.message.includes(`loss became ${bad} at epoch 7, step 13`),
    );
  }
});
