import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { initEngine } from '../../src/engine/index.ts';
import { BlazeFaceDetector } from '../../src/prepare/blazeFace.ts';
import { parseCsvRecords } from '../../src/prepare/csv.ts';
import { renderDrawnFace } from '../../src/prepare/drawnFace.ts';
import { PrepareError } from '../../src/prepare/errors.ts';
import { MANIFEST_COLUMNS, SOURCE_COLUMNS } from '../../src/prepare/outputState.ts';
import { prepareDataset, selectFaces, type PrepareOptions } from '../../src/prepare/prepareDataset.ts';
import type { FaceDetection, FaceDetector } from '../../src/prepare/blazeFace.ts';
import { writeCorruptVideo, writeDrawnPhoto, writeVideo } from './fixtures.ts';

let dir: string;
let input: string;
let det: BlazeFaceDetector;

before(async () => {
  await initEngine('wasm', () => {});
  det = await BlazeFaceDetector.load();
  dir = await mkdtemp(join(tmpdir(), 'fdft-prepare-'));
  input = join(dir, 'in');
  await writeDrawnPhoto(join(input, 'real', 'photo_a.jpg'), { width: 320, height: 240, cx: 140, faceWidth: 100 });
  await writeDrawnPhoto(join(input, 'real', 'sub', 'photo_b.png'), { width: 240, height: 320, faceWidth: 110, rotateDeg: 15 });
  await writeDrawnPhoto(join(input, 'real', 'empty.jpg'), { width: 200, height: 200, noFace: true });
  await writeDrawnPhoto(join(input, 'real', 'tiny.jpg'), { width: 300, height: 300, faceWidth: 28 });
  await writeFile(join(input, 'real', 'garbage.jpg'), 'not a jpeg at all');
  await writeFile(join(input, 'real', 'notes.txt'), 'ignored: neither image nor video');
  const frames = [];
  for (let i = 0; i < 20; i++) frames.push(await renderDrawnFace({ width: 320, height: 240, cx: 110 + 5 * i, cy: 120, faceWidth: 90 }));
  await writeVideo(join(input, 'fake', 'clip.mp4'), frames, 10);
  await writeCorruptVideo(join(input, 'fake', 'broken.mp4'));
});
after(async () => {
  det?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const base = (out: string): PrepareOptions => ({ input, out, detector: det, labelsFromPath: true, sampling: { framesPerVideo: 4 } });

async function readCsv(path: string) {
  const text = await readFile(path, 'utf8');
  return { header: text.split('\n')[0].split(','), rows: parseCsvRecords(text) };
}

test('photos and a video → counted crops, 64x64 PNGs in OUT/{real,fake}, a full manifest', async () => {
  const out = join(dir, 'out');
  const progress: number[] = [];
  const s = await prepareDataset({ ...base(out), onProgress: (p) => progress.push(p.frames) });

  assert.equal(s.sources.found, 7); // notes.txt is not an input
  assert.equal(s.sources.processed, 7);
  assert.equal(s.sources.alreadyDone, 0);
  assert.deepEqual(s.failures.map((f) => [f.source, f.reason]).sort(), [
    ['fake/broken.mp4', 'corrupt-video'],
    ['real/garbage.jpg', 'not-an-image'],
  ]);
  assert.equal(s.sources.failed, 2);
  assert.equal(s.images, 5);
  assert.equal(s.videos, 2);
  assert.equal(s.frames, 4 + 4); // 4 decodable photos + 4 video frames
  assert.deepEqual(s.skipped, { 'no-face': 1, 'face-too-small': 1 });
  assert.equal(s.faces, 6);
  assert.deepEqual(s.byLabel, { real: 2, fake: 4 });
  assert.equal(s.totalFaces, 6);
  assert.ok(progress.length >= 8 && progress.at(-1) === 8);

  assert.equal(existsSync(join(out, 'frames')), false); // no frame written unless asked
  const realFiles = (await readdir(join(out, 'real'))).sort();
  const fakeFiles = (await readdir(join(out, 'fake'))).sort();
  assert.deepEqual(realFiles, ['photo_a@real__photo_a.jpg_0.png', 'photo_b@real__sub__photo_b.png_0.png']);
  assert.deepEqual(fakeFiles, [0, 1, 2, 3].map((i) => `clip@fake__clip.mp4_f${String([2, 7, 12, 17][i]).padStart(6, '0')}_0.png`));
  for (const f of [...realFiles.map((f) => `real/${f}`), ...fakeFiles.map((f) => `fake/${f}`)]) {
    const m = await sharp(join(out, f)).metadata();
    assert.deepEqual([m.width, m.height, m.format, m.channels], [64, 64, 'png', 3], f);
  }

  const manifest = await readCsv(join(out, 'manifest.csv'));
  assert.deepEqual(manifest.header, [...MANIFEST_COLUMNS]);
  assert.equal(manifest.rows.length, 6);
  const video = manifest.rows.filter((r) => r.kind === 'video');
  assert.deepEqual(video.map((r) => Number(r.frame)), [2, 7, 12, 17]);
  assert.deepEqual(video.map((r) => Number(r.time_s)), [0.2, 0.7, 1.2, 1.7]);
  for (const r of manifest.rows) {
    assert.ok(Number(r.score) >= 0.5 && Number(r.score) <= 1);
    assert.ok(Number(r.crop_size) >= Number(r.face_w));
    assert.equal(r.face, '0');
    assert.equal(r.label, r.file.split('/')[0]);
  }
  assert.deepEqual([...new Set(video.map((r) => r.group))], ['clip']);
  // The face moves right by 5 px a frame: boxes follow it.
  const xs = video.map((r) => Number(r.face_x));
  assert.ok(xs[3] - xs[0] > 50 && xs[3] - xs[0] < 100, `face x ${xs}`);
  assert.equal(manifest.rows.find((r) => r.source === 'real/photo_a.jpg')?.group, 'photo_a');

  const sources = await readCsv(join(out, 'sources.csv'));
  assert.deepEqual(sources.header, [...SOURCE_COLUMNS]);
  assert.equal(sources.rows.length, 7);
  assert.equal(sources.rows.find((r) => r.source === 'real/empty.jpg')?.skipped, 'no-face:1');
  assert.equal(sources.rows.find((r) => r.source === 'fake/broken.mp4')?.status, 'corrupt-video');
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.faces, 6);
});

test('resume: a rerun skips finished sources; a source cut off mid-way is redone without duplicates', async () => {
  const out = join(dir, 'out'); // made by the previous test
  const again = await prepareDataset(base(out));
  assert.equal(again.sources.alreadyDone, 7);
  assert.equal(again.sources.processed, 0);
  assert.equal(again.faces, 0);
  assert.equal(again.totalFaces, 6);

  // Simulate a run killed after clip.mp4's crops and manifest rows but before its sources.csv row.
  const sourcesPath = join(out, 'sources.csv');
  const lines = (await readFile(sourcesPath, 'utf8')).split('\n');
  await writeFile(sourcesPath, lines.filter((l) => !l.startsWith('fake/clip.mp4,')).join('\n') + 'real/partial-li');
  const redo = await prepareDataset(base(out));
  assert.equal(redo.sources.processed, 1);
  assert.equal(redo.faces, 4);
  assert.equal(redo.totalFaces, 6);
  const manifest = parseCsvRecords(await readFile(join(out, 'manifest.csv'), 'utf8'));
  assert.equal(manifest.length, 6);
  assert.equal(new Set(manifest.map((r) => r.file)).size, 6);
  assert.equal(parseCsvRecords(await readFile(sourcesPath, 'utf8')).length, 7);

  await assert.rejects(prepareDataset({ ...base(out), size: 32 }), (e: unknown) => e instanceof PrepareError && /size/.test((e as Error).message));
});

test('--fps sampling, a fixed --label, --group-by and --max-faces on one video file', async () => {
  const out = join(dir, 'out-fps');
  const s = await prepareDataset({
    input: join(input, 'fake', 'clip.mp4'),
    out,
    detector: det,
    label: 'real',
    sampling: { fps: 2.5 },
    groupBy: '(c..)p\\.mp4$',
    maxFaces: 3,
    size: 32,
    align: true,
    saveFrames: true,
  });
  assert.equal(s.frames, 5); // 20 frames at 10 fps, one every 0.4 s
  assert.equal(s.faces, 5);
  assert.equal(s.extraFaces, 0);
  const rows = parseCsvRecords(await readFile(join(out, 'manifest.csv'), 'utf8'));
  assert.deepEqual(rows.map((r) => Number(r.frame)), [0, 4, 8, 12, 16]);
  assert.deepEqual([...new Set(rows.map((r) => r.group))], ['cli']);
  assert.ok(rows.every((r) => r.label === 'real' && r.file.startsWith('real/')));
  const m = await sharp(join(out, rows[0].file)).metadata();
  assert.deepEqual([m.width, m.height], [32, 32]);
  const saved = (await readdir(join(out, 'frames'))).sort();
  assert.equal(saved.length, 5);
  const f = await sharp(join(out, 'frames', saved[0])).metadata();
  assert.deepEqual([f.width, f.height, f.format], [320, 240, 'jpeg']);
});

test('selectFaces: thresholds, skip reasons, and the --pick ranking', async () => {
  const face = (x: number, size: number, score: number): FaceDetection => ({ box: { x, y: 40, width: size, height: size }, score, landmarks: [] });
  const stub = (faces: FaceDetection[], maxScore = 0.9): FaceDetector => ({ name: 'stub', detect: async () => ({ faces, maxScore }), dispose: () => {} });
  const img = { width: 300, height: 200, data: new Uint8Array(300 * 200 * 3) };
  const faces = [face(0, 50, 0.99), face(130, 45, 0.8), face(200, 90, 0.7)]; // detector order: by score
  const s = { minScore: 0.5, minFace: 40, maxFaces: 1 };
  assert.equal((await selectFaces(stub(faces), img, s))[0].box.x, 200);
  assert.equal((await selectFaces(stub(faces), img, { ...s, pick: 'central' }))[0].box.x, 130);
  assert.equal((await selectFaces(stub(faces), img, { ...s, pick: 'score' }))[0].box.x, 0);
  let extra = 0;
  assert.equal((await selectFaces(stub(faces), img, { ...s, maxFaces: 2 }, undefined, (n) => (extra += n))).length, 2);
  assert.equal(extra, 1);
  const reasons: string[] = [];
  await selectFaces(stub([], 0.05), img, s, (r) => reasons.push(r));
  await selectFaces(stub([], 0.4), img, s, (r) => reasons.push(r));
  await selectFaces(stub([face(0, 30, 0.9)]), img, s, (r) => reasons.push(r));
  assert.deepEqual(reasons, ['no-face', 'low-score', 'face-too-small']);
});

test('bad options are PrepareErrors with the option named', async () => {
  const out = join(dir, 'never');
  const cases: [Partial<PrepareOptions>, RegExp][] = [
    [{ labelsFromPath: false }, /--label/],
    [{ label: 'real' }, /not both/],
    [{ groupBy: '(' }, /--group-by/],
    [{ size: 3 }, /--size/],
    [{ sampling: { fps: 0 } }, /--fps/],
    [{ maxFaces: 0 }, /--max-faces/],
    [{ pick: 'biggest' as 'largest' }, /--pick/],
    [{ input: join(dir, 'missing') }, /--input/],
    [{ input: join(input, 'fake', 'clip.mp4') }, /no path .* matches a label rule/], // one file: no folder to label it
  ];
  for (const [o, re] of cases) {
    await assert.rejects(prepareDataset({ ...base(out), ...o }), (e: unknown) => e instanceof PrepareError && re.test((e as Error).message), JSON.stringify(o));
  }
});
