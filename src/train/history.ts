/**
 * `runDir/history.jsonl`: one JSON object per finished epoch (appended and fsync'ed). A run killed
 * after logging an epoch but before checkpointing it logs that epoch again when resumed, and a kill
 * mid-append leaves a torn last line; `truncateHistory` (called on resume) keeps exactly the epochs
 * up to the checkpoint so the file of a resumed run equals that of an uninterrupted one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { appendLine, writeFileAtomic } from '../util/atomic.ts';

export const HISTORY_FILE = 'history.jsonl';

export class HistoryError extends Error {
  override name = 'HistoryError';
}

export interface HistoryRecord {
  epoch: number;
  [key: string]: unknown;
}

export function historyPath(runDir: string): string {
  return join(runDir, HISTORY_FILE);
}

export async function appendHistory(runDir: string, record: HistoryRecord): Promise<void> {
  if (!Number.isInteger(record.epoch)) throw new HistoryError(`history record needs an integer epoch, got ${record.epoch}`);
  await appendLine(historyPath(runDir), JSON.stringify(record));
}

/** Records in file order; a torn (unparsable) LAST line is dropped, one elsewhere is an error. */
export async function readHistory(runDir: string): Promise<HistoryRecord[]> {
  let text: string;
  try {
    text = await readFile(historyPath(runDir), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const lines = text.split('\n');
  const out: HistoryRecord[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as HistoryRecord);
    } catch (e) {
      const isLast = lines.slice(i + 1).every((l) => l.trim() === '');
      if (isLast) break;
      throw new HistoryError(`${historyPath(runDir)} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Keep the records with epoch ≤ lastEpoch (rewritten atomically); returns them. */
export async function truncateHistory(runDir: string, lastEpoch: number): Promise<HistoryRecord[]> {
  const kept = (await readHistory(runDir)).filter((r) => r.epoch <= lastEpoch);
  await writeFileAtomic(historyPath(runDir), kept.map((r) => JSON.stringify(r) + '\n').join(''));
  return kept;
}
