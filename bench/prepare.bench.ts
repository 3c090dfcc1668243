/**
 * `npm run bench -- prepare`: faces/s of `fdft prepare` on photos and frames/s on video, with the
 * time per stage (decode, BlazeFace, crop + PNG write) and the detection recall on the shared real
 * face sets when ../shared/data is present (every image there holds one face).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { initEngine } from '../src/engine/index.ts';
import { BlazeFaceDetector } from '../src/prepare/blazeFace.ts';
import { renderDrawnFace } from '../src/prepare/drawnFace.ts';
import { cropFace } from '../src/prepare/faceCrop.ts';
import { probeVideo, readVideoFrames } from '../src/prepare/ffmpeg.ts';
import { prepareDataset } from '../src/prepare/prepareDataset.ts';
import { decodeImageFile } from '../src/prepare/rgbImage.ts';
import { writeDrawnPhoto, writeVideo } from '../test/prepare/fixtures.ts';
import { peakRssMiB } from './peakRss.ts';

const SHARED = resolve('../shared/data');
const N_PHOTOS = 100;

/** CPU time of this process (all threads, incl. sharp's), ms: robust to other load on the machine. */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function stageTimes(det: BlazeFaceDetector, files: string[], outDir: string) {
  let decode = 0;
  let detect = 0;
  let detectCpu = 0;
  let crop = 0;
  let found = 0;
  const scores: number[] = [];
  for (const [i, f] of files.entries()) {
    let t = performance.now();
    const img = await decodeImageFile(f);
    decode += performance.now() - t;
    t = performance.now();
    const c0 = cpuMs();
    const { faces } = await det.detect(img);
    detect += performance.now() - t;
    detectCpu += cpuMs() - c0;
    if (faces.length) {
      found++;
      scores.push(faces[0].score);
      t = performance.now();
      const c = await cropFace(img, faces[0], { size: 64, margin: 0.3, align: false });
      await writeFile(join(outDir, `${i}.png`), c.png);
      crop += performance.now() - t;
    }
  }
  const n = files.length;
  scores.sort((a, b) => a - b);
  return { decode: decode / n, detect: detect / n, detectCpu: detectCpu / n, crop: crop / Math.max(1, found), found, minScore: scores[0] ?? NaN };
}

export default async function bench(): Promise<void> {
  const engine = await initEngine('wasm', () => {});
  const det = await BlazeFaceDetector.load();
  const dir = await mkdtemp(join(tmpdir(), 'fdft-bench-prepare-'));
  console.log(`engine: ${engine.backend}; detector: ${det.name}; crops 64x64, margin 0.3, min-score 0.5`);
  console.log(`load average at start: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (wall-clock rates fall with other load; CPU columns do not)\n`);
  try {
    // Photo sets: drawn faces (always), the shared real sets when present (linked, never copied).
    const sets: { name: string; files: string[] }[] = [];
    const drawn: string[] = [];
    for (let i = 0; i < N_PHOTOS; i++) {
      const f = join(dir, 'drawn', 'real', `p${i}.jpg`);
      await writeDrawnPhoto(f, { width: 640, height: 480, cx: 200 + 3 * i, cy: 240, faceWidth: 120 + (i % 5) * 20, rotateDeg: (i % 7) * 3 - 9 });
      drawn.push(f);
    }
    sets.push({ name: `drawn faces 640x480 JPEG`, files: drawn });
    if (existsSync(SHARED)) {
      for (const set of ['gan', 'faceswap']) {
        for (const cls of ['real', 'fake']) {
          const src = join(SHARED, set, cls);
          if (!existsSync(src)) continue;
          await mkdir(join(dir, `${set}-${cls}`, cls), { recursive: true });
          const names = readdirSync(src).filter((n) => /\.jpe?g$/i.test(n)).sort().slice(0, N_PHOTOS);
          const files: string[] = [];
          for (const n of names) {
            await symlink(join(src, n), join(dir, `${set}-${cls}`, cls, n));
            files.push(join(dir, `${set}-${cls}`, cls, n));
          }
          sets.push({ name: `shared ${set}/${cls}`, files });
        }
      }
    } else {
      console.log(`(${SHARED} absent: shared-set rows skipped)\n`);
    }

    console.log('### Photos\n');
    console.log('| input | images | recall (score ≥ 0.5) | min score | decode ms/img | detect ms/img (CPU ms) | crop+PNG ms/face | end-to-end faces/s | faces per CPU-s |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const s of sets) {
      const stageOut = join(dir, 'stage-out');
      await mkdir(stageOut, { recursive: true });
      await det.detect(await decodeImageFile(s.files[0])); // warm-up
      const st = await stageTimes(det, s.files, stageOut);
      const inputDir = resolve(s.files[0], '..', '..');
      const c0 = cpuMs();
      const e2e = await prepareDataset({ input: inputDir, out: join(dir, `out-${s.name.replace(/\W+/g, '_')}`), detector: det, labelsFromPath: true });
      console.log(
        `| ${s.name} | ${s.files.length} | ${((100 * st.found) / s.files.length).toFixed(1)} % | ${st.minScore.toFixed(3)} | ${st.decode.toFixed(1)} | ${st.detect.toFixed(1)} (${st.detectCpu.toFixed(1)}) | ${st.crop.toFixed(1)} | ${e2e.facesPerSecond.toFixed(1)} | ${(e2e.faces / ((cpuMs() - c0) / 1000)).toFixed(1)} |`,
      );
    }

    console.log('\n### Video\n');
    console.log('| video | frames | mode | frames/s | faces/s | frames per CPU-s (fdft process; ffmpeg CPU not counted) | note |');
    console.log('|---|---:|---|---:|---:|---:|---|');
    for (const [w, h, seconds] of [
      [640, 360, 10],
      [1280, 720, 4],
    ] as const) {
      const fps = 25;
      const frames = async function* () {
        for (let i = 0; i < fps * seconds; i++) yield await renderDrawnFace({ width: w, height: h, cx: w / 3 + i, cy: h / 2, faceWidth: h / 3 });
      };
      const video = join(dir, `v${w}`, 'real', `clip${w}.mp4`);
      await writeVideo(video, frames(), fps, { width: w, height: h });
      const info = await probeVideo(video);
      const t = performance.now();
      let n = 0;
      for await (const f of readVideoFrames(video, { framesPerVideo: info.frameCount }, { info })) n += f.image.width > 0 ? 1 : 0;
      const decodeFps = n / ((performance.now() - t) / 1000);
      console.log(`| ${w}x${h} h264, ${seconds} s | ${n} | decode + pipe only (every frame) | ${decodeFps.toFixed(0)} | – | – | ffmpeg ${info.codec} → raw RGB |`);
      for (const sampling of [{ framesPerVideo: 32 }, { fps: 5 }]) {
        const out = join(dir, `vout-${w}-${JSON.stringify(sampling).replace(/\W+/g, '')}`);
        const c0 = cpuMs();
        const s = await prepareDataset({ input: join(dir, `v${w}`), out, detector: det, labelsFromPath: true, sampling });
        const mode = 'fps' in sampling ? `--fps ${sampling.fps}` : `--frames-per-video ${sampling.framesPerVideo}`;
        console.log(`| ${w}x${h} h264, ${seconds} s | ${s.frames} | prepare ${mode} | ${s.framesPerSecond.toFixed(1)} | ${s.facesPerSecond.toFixed(1)} | ${(s.frames / ((cpuMs() - c0) / 1000)).toFixed(1)} | ${s.faces} faces |`);
      }
    }
    console.log(`\npeak RSS: ${peakRssMiB().toFixed(0)} MiB`);
  } finally {
    det.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}
