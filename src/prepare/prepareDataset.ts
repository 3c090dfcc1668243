/**
 * `fdft prepare`: photos and videos → face crops in the flat layout `OUT/{real,fake}/*.png` with a
 * manifest, as both seed methods train on crops, not frames (FDFtNet: MTCNN crops of FaceForensics
 * frames resized to 64x64; the transfer-learning method: detected faces resized to 224x224).
 *
 * Per source: decode (sharp for photos; ffmpeg frames piped as raw RGB for videos), detect faces
 * (BlazeFace on fdft's tfjs engine), keep the largest `maxFaces` faces of at least `minFace` px and
 * `minScore`, crop each (square, margin, optional eye alignment), write PNGs, then record the source
 * in the resume log (see outputState.ts). Frames without a usable face are counted by reason.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { type FaceDetection, type FaceDetector, BlazeFaceDetector, centralFirst, largestFirst } from './blazeFace.ts';
import { PrepareError, VideoDecodeError } from './errors.ts';
import { cropFace } from './faceCrop.ts';
import { type FrameSampling, findFfmpeg, probeVideo, readVideoFrames } from './ffmpeg.ts';
import { DfdcMetadataCache, type LabelName, groupOf, labelFromFolders, stemOf } from './labelRules.ts';
import { type ManifestRow, OutputState, type SourceRow } from './outputState.ts';
import { type RgbImage, decodeImageFile, rawInput } from './rgbImage.ts';
import { type SourceFile, findSources } from './sources.ts';

export interface PrepareOptions {
  /** Folder of photos / videos (searched recursively), or one file. */
  input: string;
  /** Output folder (created; resumed when it holds an earlier run with the same crop settings). */
  out: string;
  /** Crop side in px (default 64, FDFtNet's input). */
  size?: number;
  /** Fraction added to the face box side (default 0.3). */
  margin?: number;
  /** Rotate crops so that the eyes are level (default false). */
  align?: boolean;
  /** Video frames to take (default 32 evenly spaced frames per video). */
  sampling?: FrameSampling;
  /** Label of every source; exclusive with `labelsFromPath`. */
  label?: LabelName;
  /** Labels from folder names / DFDC metadata.json (see labelRules.ts). */
  labelsFromPath?: boolean;
  /** Smallest usable face, px (max of the detector box's width and height; default 40). */
  minFace?: number;
  /** Faces taken per image / frame (default 1). */
  maxFaces?: number;
  /** Which faces come first: 'largest' (default), 'central' (nearest the image centre), 'score'. */
  pick?: FacePick;
  /** Detector score threshold (default 0.5). */
  minScore?: number;
  /** Identity group = first capture group of this regex on the source's relative path. */
  groupBy?: string | RegExp;
  /** ffmpeg binary (default: see ffmpeg.ts). */
  ffmpeg?: string;
  /** Detector to use (default: BlazeFace, loaded here; call initEngine first). */
  detector?: FaceDetector;
  /** Also write every sampled video frame as JPEG under OUT/frames/ (default false: frames stay in memory). */
  saveFrames?: boolean;
  /** Photos decoded ahead of the detector (default 4). */
  prefetch?: number;
  /** Called after every image / frame. */
  onProgress?: (p: PrepareProgress) => void;
}

export interface PrepareProgress {
  sourcesDone: number;
  sourcesTotal: number;
  frames: number;
  faces: number;
  elapsedS: number;
  current: string;
}

export interface SourceFailure {
  source: string;
  /** Named reason: 'corrupt-video', 'no-video-stream', 'not-an-image', 'corrupt-image', 'unreadable', 'no-label', … */
  reason: string;
  detail: string;
}

export interface PrepareSummary {
  out: string;
  detector: string;
  sources: {
    /** Image and video files found under the input. */
    found: number;
    /** Finished by an earlier run, skipped now. */
    alreadyDone: number;
    /** Processed by this run (including failures). */
    processed: number;
    /** Could not be used at all (see `failures`). */
    failed: number;
  };
  images: number;
  videos: number;
  /** Images + video frames examined by this run. */
  frames: number;
  /** Crops written by this run. */
  faces: number;
  /** Crops in the manifest after this run (earlier runs included). */
  totalFaces: number;
  byLabel: Record<LabelName, number>;
  /** Images / frames without a usable face, by reason: 'no-face', 'low-score', 'face-too-small'. */
  skipped: Record<string, number>;
  failures: SourceFailure[];
  /** Faces beyond `maxFaces` that were left out. */
  extraFaces: number;
  /** Sources whose path the `groupBy` regex did not match (they got the default group). */
  groupByMisses: number;
  elapsedS: number;
  facesPerSecond: number;
  framesPerSecond: number;
}

export type FacePick = 'largest' | 'central' | 'score';

interface Settings {
  size: number;
  margin: number;
  align: boolean;
  sampling: FrameSampling;
  minFace: number;
  maxFaces: number;
  pick: FacePick;
  minScore: number;
  groupBy?: RegExp;
}

function validate(o: PrepareOptions): Settings {
  const size = o.size ?? 64;
  const margin = o.margin ?? 0.3;
  const minFace = o.minFace ?? 40;
  const maxFaces = o.maxFaces ?? 1;
  const minScore = o.minScore ?? 0.5;
  const sampling = o.sampling ?? { framesPerVideo: 32 };
  if (!Number.isInteger(size) || size < 8 || size > 4096) throw new PrepareError(`--size must be an integer in [8, 4096], got ${size}`);
  if (!(margin >= 0 && margin <= 4)) throw new PrepareError(`--margin must be in [0, 4], got ${margin}`);
  if (!(minFace >= 0)) throw new PrepareError(`--min-face must be >= 0, got ${minFace}`);
  if (!Number.isInteger(maxFaces) || maxFaces < 1) throw new PrepareError(`--max-faces must be an integer >= 1, got ${maxFaces}`);
  const pick = o.pick ?? 'largest';
  if (!['largest', 'central', 'score'].includes(pick)) throw new PrepareError(`--pick must be largest, central or score, got '${pick}'`);
  if (!(minScore > 0 && minScore < 1)) throw new PrepareError(`--min-score must be in (0, 1), got ${minScore}`);
  if ('framesPerVideo' in sampling && !(Number.isInteger(sampling.framesPerVideo) && sampling.framesPerVideo >= 1)) {
    throw new PrepareError(`--frames-per-video must be an integer >= 1, got ${sampling.framesPerVideo}`);
  }
  if ('fps' in sampling && !(sampling.fps > 0)) throw new PrepareError(`--fps must be > 0, got ${sampling.fps}`);
  if (o.label !== undefined && o.labelsFromPath) throw new PrepareError('give either --label or --labels-from-path, not both');
  if (o.label === undefined && !o.labelsFromPath) throw new PrepareError('give --label real|fake or --labels-from-path');
  if (o.label !== undefined && o.label !== 'real' && o.label !== 'fake') throw new PrepareError(`--label must be real or fake, got '${o.label}'`);
  let groupBy: RegExp | undefined;
  if (o.groupBy !== undefined) {
    try {
      groupBy = typeof o.groupBy === 'string' ? new RegExp(o.groupBy) : o.groupBy;
    } catch (e) {
      throw new PrepareError(`--group-by is not a valid regular expression: ${(e as Error).message}`);
    }
  }
  return { size, margin, align: o.align ?? false, sampling, minFace, maxFaces, pick, minScore, groupBy };
}

/**
 * The crop's file name: `GROUP@SOURCE_f<frame>_<face>.png`, the identity group first (so that the
 * data pipeline's `--group-by '^(?:real|fake)/([^@]+)@'` recovers it), then the source's relative
 * path flattened ('/' → '__'), then frame and face rank (photos have no frame part).
 */
export function cropFileName(relPath: string, kind: 'image' | 'video', frame: number, face: number, group: string): string {
  const safe = (t: string) => t.replace(/[\\/]+/g, '__').replace(/[^A-Za-z0-9._+=-]/g, '_');
  let base = safe(relPath);
  if (base.length > 150) {
    const hash = createHash('sha1').update(relPath).digest('hex').slice(0, 10);
    base = `${hash}_${base.slice(-140)}`;
  }
  const g = safe(group).slice(0, 80) || '_';
  return kind === 'video' ? `${g}@${base}_f${String(frame).padStart(6, '0')}_${face}.png` : `${g}@${base}_${face}.png`;
}

/** Named reason for an image sharp cannot decode. */
function imageFailureReason(e: unknown): string {
  const msg = (e as Error).message ?? '';
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EISDIR') return 'unreadable';
  if (/unsupported image format/i.test(msg)) return 'not-an-image';
  if (/pixel limit/i.test(msg)) return 'too-large';
  return 'corrupt-image';
}

const round = (v: number, d = 2) => Math.round(v * 10 ** d) / 10 ** d;

/** Runs the whole preparation; see the module comment. */
export async function prepareDataset(opts: PrepareOptions): Promise<PrepareSummary> {
  const s = validate(opts);
  const out = resolve(opts.out);
  const sources = await findSources(opts.input, out);

  let detector = opts.detector;
  const ownDetector = !detector;
  if (!detector) {
    const { initEngine } = await import('../engine/index.ts');
    await initEngine(); // idempotent: keeps the caller's choice when already made
    detector = await BlazeFaceDetector.load();
  }
  try {
    const state = await OutputState.open(out, { size: s.size, margin: s.margin, align: s.align, detector: detector.name });
    const todo = sources.filter((src) => !state.done.has(src.relPath));
    let ffmpeg: string | undefined;
    if (todo.some((src) => src.kind === 'video')) {
      try {
        ffmpeg = findFfmpeg(opts.ffmpeg);
      } catch (e) {
        throw new PrepareError(`the input holds videos but ${(e as Error).message}`);
      }
    }
    return await run(opts, s, detector, state, sources.length, todo, out, ffmpeg);
  } finally {
    if (ownDetector) detector.dispose();
  }
}

async function run(
  opts: PrepareOptions,
  s: Settings,
  detector: FaceDetector,
  state: OutputState,
  found: number,
  todo: SourceFile[],
  out: string,
  ffmpeg: string | undefined,
): Promise<PrepareSummary> {
  const t0 = performance.now();
  const summary: PrepareSummary = {
    out,
    detector: detector.name,
    sources: { found, alreadyDone: found - todo.length, processed: 0, failed: 0 },
    images: 0,
    videos: 0,
    frames: 0,
    faces: 0,
    totalFaces: state.previousFaces,
    byLabel: { real: 0, fake: 0 },
    skipped: {},
    failures: [],
    extraFaces: 0,
    groupByMisses: 0,
    elapsedS: 0,
    facesPerSecond: 0,
    framesPerSecond: 0,
  };
  const elapsed = () => (performance.now() - t0) / 1000;
  const progress = (current: string) =>
    opts.onProgress?.({
      sourcesDone: summary.sources.alreadyDone + summary.sources.processed,
      sourcesTotal: found,
      frames: summary.frames,
      faces: summary.faces,
      elapsedS: elapsed(),
      current,
    });
  const dfdc = new DfdcMetadataCache();
  const labelOf = async (src: SourceFile): Promise<{ label?: LabelName; defaultGroup: string }> => {
    if (!opts.labelsFromPath) return { label: opts.label, defaultGroup: stemOf(src.relPath) };
    const meta = await dfdc.lookup(src.path);
    return { label: meta?.label ?? labelFromFolders(src.relPath), defaultGroup: meta?.original ? stemOf(meta.original) : stemOf(src.relPath) };
  };
  if (opts.labelsFromPath && todo.length > 0) {
    let any = false;
    for (const src of todo) if ((any = (await labelOf(src)).label !== undefined)) break;
    if (!any) {
      throw new PrepareError(
        `--labels-from-path: no path under ${opts.input} matches a label rule (e.g. ${todo[0].relPath}); ` +
          'put sources under real/ and fake/ (or FF++ / Celeb-DF / DFDC layouts), or use --label',
      );
    }
  }

  // Photos are decoded ahead of the detector (sharp works on libuv threads meanwhile).
  const prefetch = Math.max(0, opts.prefetch ?? 4);
  const decoded = new Map<number, Promise<RgbImage | { error: unknown }>>();
  const startDecode = (i: number) => {
    const src = todo[i];
    if (src && src.kind === 'image' && !decoded.has(i)) decoded.set(i, decodeImageFile(src.path).catch((error: unknown) => ({ error })));
  };

  for (let i = 0; i < todo.length; i++) {
    for (let j = i; j <= i + prefetch; j++) startDecode(j);
    const src = todo[i];
    const pendingImage = decoded.get(i);
    decoded.delete(i);

    // Label and identity group.
    const { label, defaultGroup } = await labelOf(src);
    const { group, matched } = groupOf(src.relPath, s.groupBy, defaultGroup);
    if (!matched) summary.groupByMisses++;
    const sourceRow: SourceRow = { source: src.relPath, kind: src.kind, label: label ?? '', group, status: 'done', frames: 0, faces: 0, skipped: '', detail: '' };
    const fail = async (reason: string, detail: string) => {
      summary.failures.push({ source: src.relPath, reason, detail });
      summary.sources.failed++;
      summary.sources.processed++;
      await state.commit({ ...sourceRow, status: reason, detail }, []);
      progress(src.relPath);
    };
    if (!label) {
      await fail('no-label', 'no label rule matches this path (see --labels-from-path in README)');
      continue;
    }

    const rows: ManifestRow[] = [];
    const writes: Promise<void>[] = [];
    const skippedHere: Record<string, number> = {};
    const handleFrame = async (img: RgbImage, frame: number, timeS: number) => {
      summary.frames++;
      (sourceRow.frames as number)++;
      if (opts.saveFrames && src.kind === 'video') {
        const framePath = join(out, 'frames', cropFileName(src.relPath, 'video', frame, 0, group).replace(/_0\.png$/, '.jpg'));
        writes.push(mkdir(join(out, 'frames'), { recursive: true }).then(() => sharp(img.data, rawInput(img)).jpeg({ quality: 95 }).toFile(framePath)).then(() => {}));
      }
      const chosen = await selectFaces(detector, img, s, (reason) => {
        summary.skipped[reason] = (summary.skipped[reason] ?? 0) + 1;
        skippedHere[reason] = (skippedHere[reason] ?? 0) + 1;
      }, (n) => (summary.extraFaces += n));
      chosen.forEach((face, k) => {
        const file = `${label}/${cropFileName(src.relPath, src.kind, frame, k, group)}`;
        summary.faces++;
        summary.byLabel[label!]++;
        (sourceRow.faces as number)++;
        writes.push(
          cropFace(img, face, s).then(async (crop) => {
            await writeFile(join(out, file), crop.png);
            rows.push({
              file,
              label: label!,
              group,
              source: src.relPath,
              kind: src.kind,
              frame,
              time_s: round(timeS, 3),
              face: k,
              score: round(face.score, 4),
              face_x: round(face.box.x, 1),
              face_y: round(face.box.y, 1),
              face_w: round(face.box.width, 1),
              face_h: round(face.box.height, 1),
              crop_x: crop.box.x,
              crop_y: crop.box.y,
              crop_size: crop.box.width,
              angle: round(crop.angleDeg, 2),
            });
          }),
        );
      });
      progress(src.relPath);
    };

    if (src.kind === 'image') {
      summary.images++;
      const img = await (pendingImage ?? decodeImageFile(src.path).catch((error: unknown) => ({ error })));
      if ('error' in img) {
        await fail(imageFailureReason(img.error), String((img.error as Error).message ?? img.error).split('\n')[0].slice(0, 300));
        continue;
      }
      await handleFrame(img, 0, 0);
    } else {
      summary.videos++;
      try {
        const info = await probeVideo(src.path, ffmpeg);
        for await (const f of readVideoFrames(src.path, s.sampling, { ffmpeg, info })) await handleFrame(f.image, f.index, f.timeS);
      } catch (e) {
        if (!(e instanceof VideoDecodeError)) throw e;
        if (e.reason === 'ffmpeg-missing') throw new PrepareError(e.message);
        if (e.framesDecoded === 0 && (sourceRow.frames as number) === 0) {
          await fail(e.reason, e.message.replace(`${src.path}: `, ''));
          continue;
        }
        sourceRow.detail = `partial: ${e.message}`.slice(0, 300); // keep the frames decoded before the break
      }
    }
    await Promise.all(writes);
    rows.sort((a, b) => Number(a.frame) - Number(b.frame) || Number(a.face) - Number(b.face));
    sourceRow.skipped = Object.entries(skippedHere).map(([k, v]) => `${k}:${v}`).join(';');
    await state.commit(sourceRow, rows);
    summary.sources.processed++;
    summary.totalFaces += rows.length;
    progress(src.relPath);
  }

  summary.elapsedS = round(elapsed(), 3);
  summary.facesPerSecond = summary.elapsedS > 0 ? round(summary.faces / summary.elapsedS) : 0;
  summary.framesPerSecond = summary.elapsedS > 0 ? round(summary.frames / summary.elapsedS) : 0;
  await writeFile(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}

/**
 * The faces to crop in one image: score >= minScore, size >= minFace, ranked by `pick` (largest
 * first by default), at most maxFaces. Reports why an image yields none: 'no-face' (nothing face-like at all), 'low-score'
 * (a candidate below the threshold), 'face-too-small'.
 */
export async function selectFaces(
  detector: FaceDetector,
  img: RgbImage,
  s: Pick<Settings, 'minScore' | 'minFace' | 'maxFaces'> & { pick?: FacePick },
  onSkip: (reason: string) => void = () => {},
  onExtra: (n: number) => void = () => {},
): Promise<FaceDetection[]> {
  const { faces, maxScore } = await detector.detect(img, { minScore: s.minScore });
  if (faces.length === 0) {
    onSkip(maxScore >= LOW_SCORE_FLOOR ? 'low-score' : 'no-face');
    return [];
  }
  const big = faces.filter((f) => Math.max(f.box.width, f.box.height) >= s.minFace);
  if (big.length === 0) {
    onSkip('face-too-small');
    return [];
  }
  const ranked = s.pick === 'central' ? centralFirst(big, img.width, img.height) : s.pick === 'score' ? big : largestFirst(big);
  const chosen = ranked.slice(0, s.maxFaces);
  if (big.length > chosen.length) onExtra(big.length - chosen.length);
  return chosen;
}

/** Below this best-anchor score an image counts as having no face at all rather than a weak one. */
const LOW_SCORE_FLOOR = 0.2;
