import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DfdcMetadataCache, groupOf, labelFromFolders, parseDfdcMetadata } from '../../src/prepare/labelRules.ts';
import { cropFileName } from '../../src/prepare/prepareDataset.ts';
import { csvLine, parseCsv, parseCsvRecords } from '../../src/prepare/csv.ts';

test('labels from FaceForensics++, Celeb-DF and generic folder names; deepest folder wins', () => {
  assert.equal(labelFromFolders('original_sequences/youtube/c23/videos/000.mp4'), 'real');
  assert.equal(labelFromFolders('manipulated_sequences/Deepfakes/c23/videos/000_003.mp4'), 'fake');
  assert.equal(labelFromFolders('Celeb-DF-v2/Celeb-real/id0_0000.mp4'), 'real');
  assert.equal(labelFromFolders('Celeb-DF-v2/YouTube-real/00000.mp4'), 'real');
  assert.equal(labelFromFolders('Celeb-DF-v2/Celeb-synthesis/id0_id1_0000.mp4'), 'fake');
  assert.equal(labelFromFolders('set/1_fake/x.png'), 'fake');
  assert.equal(labelFromFolders('real/sub/fake/x.png'), 'fake');
  assert.equal(labelFromFolders('photos/x.png'), undefined);
  assert.equal(labelFromFolders('real.png'), undefined); // a file name is not a folder
});

test('DFDC metadata.json gives the label and, for fakes, the original video as the group', async () => {
  const table = parseDfdcMetadata(JSON.stringify({
    'aaa.mp4': { label: 'FAKE', split: 'train', original: 'bbb.mp4' },
    'bbb.mp4': { label: 'REAL', split: 'train', original: null },
    'ccc.mp4': { label: 'MAYBE' },
  }));
  assert.deepEqual(table.get('aaa.mp4'), { label: 'fake', original: 'bbb.mp4' });
  assert.deepEqual(table.get('bbb.mp4'), { label: 'real', original: undefined });
  assert.equal(table.has('ccc.mp4'), false);
  assert.equal(parseDfdcMetadata('{not json').size, 0);

  const dir = await mkdtemp(join(tmpdir(), 'fdft-dfdc-'));
  try {
    await writeFile(join(dir, 'metadata.json'), JSON.stringify({ 'x.mp4': { label: 'FAKE', original: 'y.mp4' } }));
    const cache = new DfdcMetadataCache();
    assert.deepEqual(await cache.lookup(join(dir, 'x.mp4')), { label: 'fake', original: 'y.mp4' });
    assert.equal(await cache.lookup(join(dir, 'z.mp4')), undefined);
    assert.equal(await cache.lookup(join(dir, 'nested', 'x.mp4')), undefined);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('groupOf: first capture group of --group-by, else the fallback (counted as a miss)', () => {
  const re = /(\d{3})(?:_\d{3})?\.mp4$/;
  assert.deepEqual(groupOf('manipulated_sequences/Deepfakes/c23/videos/000_003.mp4', re, '000_003'), { group: '000', matched: true });
  assert.deepEqual(groupOf('original_sequences/youtube/c23/videos/000.mp4', re, '000'), { group: '000', matched: true });
  assert.deepEqual(groupOf('other/clip.mp4', re, 'clip'), { group: 'clip', matched: false });
  assert.deepEqual(groupOf('x/clip.mp4', undefined, 'clip'), { group: 'clip', matched: true });
});

test('crop file names: group first, then the flat source path, frame and face; unique and bounded', () => {
  assert.equal(cropFileName('a/b c.mp4', 'video', 12, 0, 'b c'), 'b_c@a__b_c.mp4_f000012_0.png');
  assert.equal(cropFileName('a/b.jpg', 'image', 0, 1, 'id/7'), 'id__7@a__b.jpg_1.png');
  assert.notEqual(cropFileName('x/p.jpg', 'image', 0, 0, 'p'), cropFileName('x/p.png', 'image', 0, 0, 'p'));
  const long = cropFileName('d/'.repeat(100) + 'clip.mp4', 'video', 1, 0, 'clip');
  assert.ok(long.length < 200);
  assert.notEqual(long, cropFileName('e/'.repeat(100) + 'clip.mp4', 'video', 1, 0, 'clip'));
  // The data pipeline's --group-by recovers the group from the crop path.
  const rel = `fake/${cropFileName('manipulated/000_003.mp4', 'video', 5, 0, '000')}`;
  assert.equal(rel.match(/^(?:real|fake)\/([^@]+)@/)?.[1], '000');
});

test('CSV round-trip with commas, quotes and newlines', () => {
  const values = ['plain', 'a,b', 'say "hi"', 'two\nlines', '', 3.5];
  const text = csvLine(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']) + csvLine(values);
  assert.deepEqual(parseCsv(text)[1], values.map(String));
  assert.deepEqual(parseCsvRecords(text)[0].h2, 'a,b');
});
