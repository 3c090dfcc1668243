import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '@aws-crypto/crc32c';
import {
  decodeEvent,
  decodeTfRecords,
  encodeEvent,
  encodeTfRecord,
  EventFileError,
  listEventFiles,
  maskedCrc32c,
  readEventFile,
  readScalars,
  TensorBoardWriter,
} from '../../src/train/tensorboard.ts';

const made: string[] = [];
const fresh = async () => {
  const d = await mkdtemp(join(tmpdir(), 'fdft-tb-'));
  made.push(d);
  return d;
};
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** Python-style byte literal → bytes ("\x18\x00…", as printed by Python). */
function pyBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') {
      const c = s[i + 1]!;
      if (c === 'x') {
        out.push(parseInt(s.slice(i + 2, i + 4), 16));
        i += 3;
      } else {
        out.push({ t: 9, n: 10, r: 13, '\\': 92, "'": 39, '"': 34 }[c]!);
        i += 1;
      }
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

test('CRC32C test vector and the masked CRC of a TF event file header', () => {
  // RFC 3720 / iSCSI check value of CRC-32C.
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  // The first 12 bytes of a TensorFlow event file: u64 LE length 24, then its masked CRC32C,
  // bytes a3 7f 4b 22 = 0x224b7fa3 (e.g. TensorFlow's event_file_loader_test.py RECORD).
  assert.equal(maskedCrc32c(Buffer.from([0x18, 0, 0, 0, 0, 0, 0, 0])), 0x224b7fa3);
});

test('decodes a record written by TensorFlow and re-encodes it byte for byte', () => {
  // tensorflow/python/summary/impl/event_file_loader_test.py: EventFileLoaderTest.RECORD.
  const tfRecord = pyBytes('\\x18\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xa3\\x7fK"\\t\\x00\\x00\\xc0%\\xddu\\xd5A\\x1a\\rbrain.Event:1\\xec\\xf32\\x8d');
  const [payload, ...rest] = decodeTfRecords(tfRecord);
  assert.equal(rest.length, 0);
  const ev = decodeEvent(payload!);
  assert.equal(ev.wallTime, 1440183447.0);
  assert.equal(ev.fileVersion, 'brain.Event:1');
  assert.deepEqual(encodeTfRecord(encodeEvent({ wallTime: 1440183447.0, step: 0, fileVersion: 'brain.Event:1' })), tfRecord);
});

test('the writer produces the exact bytes of a reference event file', async () => {
  // Expected file from the tensorboard_logger project's test_serialization (wall time fixed at 256.5):
  // the file_version record, then scalars v/1 = 1.5 at step 1 and v/22 = 16 at step 2.
  const expected = Buffer.concat([
    pyBytes('\\x18\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\xa3\\x7fK"\\t\\x00\\x00\\x00\\x00\\x00\\x08p@\\x1a\\rbrain.Event:2\\xbc\\x98!+'),
    pyBytes('\\x19\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x8b\\xf1\\x08(\\t\\x00\\x00\\x00\\x00\\x00\\x08p@\\x10\\x01*\\x0c\\n\\n\\n\\x03v/1\\x15\\x00\\x00\\xc0?,\\xec\\xc0\\x87'),
    pyBytes('\\x1a\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x12\\x9b\\xd8-\\t\\x00\\x00\\x00\\x00\\x00\\x08p@\\x10\\x02*\\r\\n\\x0b\\n\\x04v/22\\x15\\x00\\x00\\x80A\\x8f\\xa3\\xb6\\x88'),
  ]);
  const dir = await fresh();
  const w = new TensorBoardWriter(dir, { wallTime: () => 256.5, hostname: 'testhost' });
  w.scalar('v/1', 1.5, 1);
  w.scalar('v/22', 16.0, 2);
  w.close();
  assert.equal(w.path, join(dir, 'events.out.tfevents.256.testhost'));
  assert.deepEqual(await readFile(w.path), expected);
});

test('scalars round-trip through readEventFile / readScalars (float32 values)', async () => {
  const dir = await fresh();
  const w = new TensorBoardWriter(dir, { maxPending: 3 });
  const values: [string, number, number][] = [];
  for (let epoch = 1; epoch <= 5; epoch++) {
    const v = { 'loss/train': 1 / epoch, 'loss/val': 1.1 / epoch, lr: 0.3 * Math.cos(epoch / 10), 'ftt/gamma_0': -0.01 * epoch };
    w.scalars(v, epoch);
    for (const [tag, x] of Object.entries(v)) values.push([tag, epoch, x]);
  }
  w.flush();
  w.close();
  const events = readEventFile(w.path);
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  assert.ok(Math.abs(events[0]!.wallTime - Date.now() / 1000) < 60);
  const got = readScalars(dir).map((p) => [p.tag, p.step, p.value]);
  assert.deepEqual(got, values.map(([t, s, x]) => [t, s, Math.fround(x)]));
  assert.throws(() => w.scalar('late', 1, 1), EventFileError);
});

test('CRC mismatches and truncation raise EventFileError naming the problem', async () => {
  const dir = await fresh();
  const w = new TensorBoardWriter(dir);
  w.scalar('a', 1, 1);
  w.scalar('b', 2, 2);
  w.close();
  const good = await readFile(w.path);
  const bad = join(dir, 'bad');

  const dataFlip = Buffer.from(good);
  dataFlip[good.length - 6] ^= 0xff; // inside the last record's payload
  await writeFile(bad, dataFlip);
  assert.throws(() => readEventFile(bad), (e: Error) => e instanceof EventFileError && /data CRC mismatch/.test(e.message));

  const lenFlip = Buffer.from(good);
  lenFlip[0] ^= 0x01;
  await writeFile(bad, lenFlip);
  assert.throws(() => readEventFile(bad), (e: Error) => e instanceof EventFileError && /length CRC mismatch/.test(e.message));

  await writeFile(bad, good.subarray(0, good.length - 5));
  assert.throws(() => readEventFile(bad), (e: Error) => e instanceof EventFileError && /truncated/.test(e.message));
  // TensorBoard-style tolerance of a writer killed mid-record: the complete records survive.
  assert.equal(readEventFile(bad, { allowTruncatedTail: true }).length, 2);
});

test('a resumed run writes a new file next to the old one and marks the restart', async () => {
  const dir = await fresh();
  const clock = () => 1700000000.25;
  const first = new TensorBoardWriter(dir, { wallTime: clock, hostname: 'h' });
  first.scalar('loss', 0.5, 1);
  first.scalar('loss', 0.4, 2);
  first.close();
  const second = new TensorBoardWriter(dir, { wallTime: clock, hostname: 'h' });
  second.startSession(2);
  second.scalar('loss', 0.41, 2);
  second.close();
  assert.deepEqual(await readdir(dir), ['events.out.tfevents.1700000000.h', 'events.out.tfevents.1700000000.h.1']);
  assert.deepEqual(listEventFiles(dir), [first.path, second.path]);
  const evs = readEventFile(second.path);
  assert.deepEqual(evs[1], { wallTime: 1700000000.25, step: 2, sessionLog: { status: 'START' } });
  assert.deepEqual(readScalars(dir).map((p) => p.value), [0.5, 0.4, 0.41].map(Math.fround));
});
