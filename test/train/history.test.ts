import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appendHistory, HistoryError, historyPath, readHistory, truncateHistory } from '../../src/train/history.ts';

const made: string[] = [];
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

test('history.jsonl: append, read, and cut back to the checkpointed epoch after a crash', async () => {
  const runDir = await mkdtemp(join(tmpdir(), 'fdft-hist-'));
  made.push(runDir);
  assert.deepEqual(await readHistory(runDir), []);
  for (let epoch = 1; epoch <= 3; epoch++) await appendHistory(runDir, { epoch, loss: 1 / epoch });
  // Killed mid-append: a torn last line.
  await appendFile(historyPath(runDir), '{"epoch":4,"lo');
  assert.deepEqual((await readHistory(runDir)).map((r) => r.epoch), [1, 2, 3]);
  // The checkpoint holds epoch 2: epoch 3 will be trained (and logged) again.
  assert.deepEqual((await truncateHistory(runDir, 2)).map((r) => r.epoch), [1, 2]);
  await appendHistory(runDir, { epoch: 3, loss: 1 / 3 });
  assert.equal(await readFile(historyPath(runDir), 'utf8'), '{"epoch":1,"loss":1}\n{"epoch":2,"loss":0.5}\n{"epoch":3,"loss":0.3333333333333333}\n');
  await assert.rejects(appendHistory(runDir, { epoch: 1.5 }), HistoryError);
  await appendFile(historyPath(runDir), 'garbage\n{"epoch":9}\n');
  await assert.rejects(readHistory(runDir), HistoryError);
});
