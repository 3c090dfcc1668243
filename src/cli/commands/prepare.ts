import type { Argv, CommandModule } from 'yargs';
import type { GlobalOptions } from '../globalOptions.ts';

interface PrepareArgs extends GlobalOptions {
  input: string;
  out: string;
  size: number;
  margin: number;
  'frames-per-video'?: number;
  fps?: number;
  label?: 'real' | 'fake';
  'labels-from-path'?: boolean;
  'min-face': number;
  'max-faces': number;
  pick: 'largest' | 'central' | 'score';
  'min-score': number;
  'group-by'?: string;
  align: boolean;
  'save-frames': boolean;
  ffmpeg?: string;
}

export const command: CommandModule<object, PrepareArgs> = {
  command: 'prepare',
  describe: 'Detect and crop faces from photos and videos into a training-ready dataset (OUT/{real,fake}/*.png + manifest.csv)',
  builder: (y) =>
    y
      .option('input', { type: 'string', demandOption: true, describe: 'Folder of photos and videos (mp4, avi, mov, mkv, webm, …), searched recursively; or one file' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder; a rerun with the same options resumes (finished sources are skipped)' })
      .option('size', { type: 'number', default: 64, describe: 'Side of the square crops, px (FDFtNet: 64; transfer learning: 224)' })
      .option('margin', { type: 'number', default: 0.3, describe: 'Enlarge the square face box by this fraction of its side' })
      .option('frames-per-video', { type: 'number', describe: 'Frames taken per video, evenly spaced (default 32)' })
      .option('fps', { type: 'number', describe: 'Instead of --frames-per-video: frames taken per second of video' })
      .option('label', { type: 'string', choices: ['real', 'fake'] as const, describe: 'Label of every input' })
      .option('labels-from-path', {
        type: 'boolean',
        describe: 'Label from the path: original_sequences/ vs manipulated_sequences/ (FaceForensics++), Celeb-real/ vs Celeb-synthesis/ (Celeb-DF), DFDC metadata.json, real/ vs fake/',
      })
      .option('min-face', { type: 'number', default: 40, describe: 'Skip faces smaller than this, px (detector box)' })
      .option('max-faces', { type: 'number', default: 1, describe: 'Faces kept per image or frame, largest first' })
      .option('pick', {
        type: 'string',
        choices: ['largest', 'central', 'score'] as const,
        default: 'largest',
        describe: 'Which faces --max-faces keeps first: the largest, the nearest the image centre (portrait photos), or the most confident',
      })
      .option('min-score', { type: 'number', default: 0.5, describe: 'Detector score threshold in (0, 1)' })
      .option('group-by', { type: 'string', describe: 'Regex on the source path whose first capture group is the identity group (default: video / image name)' })
      .option('align', { type: 'boolean', default: false, describe: 'Rotate each crop so that the eyes are level (BlazeFace eye landmarks)' })
      .option('save-frames', { type: 'boolean', default: false, describe: 'Also write the sampled video frames as JPEG to OUT/frames/ (by default no frame touches the disk)' })
      .option('ffmpeg', { type: 'string', describe: 'ffmpeg binary (env FDFT_FFMPEG; default: system ffmpeg on PATH, else @ffmpeg-installer/ffmpeg)' })
      .conflicts('fps', 'frames-per-video')
      .conflicts('label', 'labels-from-path')
      .check((a) => {
        if (a.label === undefined && !a['labels-from-path']) throw new Error('Give --label real|fake or --labels-from-path.');
        return true;
      })
      .example('$0 prepare --input ff++/original_sequences --out faces --label real', 'FaceForensics++ originals → 64x64 crops')
      .example('$0 prepare --input ff++ --out faces --labels-from-path --fps 1 --group-by "(\\d{3})(_\\d{3})?\\.mp4$"', 'All of FF++, 1 frame/s, identity = target video')
      .example('$0 prepare --input photos --out faces224 --size 224 --label fake', 'Photos → 224x224 crops') as unknown as Argv<PrepareArgs>,
  handler: async (argv) => {
    const { initEngine } = await import('../../engine/index.ts');
    const { prepareDataset } = await import('../../prepare/index.ts');
    await initEngine(argv.backend, argv.quiet || argv.json ? () => {} : undefined);

    const showBar = !argv.quiet && !argv.json && process.stderr.isTTY;
    let bar: import('cli-progress').SingleBar | undefined;
    let lastLog = 0;
    let barStarted = false;
    if (showBar) {
      const { SingleBar, Presets } = await import('cli-progress');
      bar = new SingleBar(
        { format: 'prepare |{bar}| {value}/{total} sources | {frames} frames | {faces} faces | {rate} faces/s | ETA {eta_formatted}', hideCursor: true, etaBuffer: 50 },
        Presets.shades_classic,
      );
    }
    const summary = await prepareDataset({
      input: argv.input,
      out: argv.out,
      size: argv.size,
      margin: argv.margin,
      align: argv.align,
      sampling: argv.fps !== undefined ? { fps: argv.fps } : { framesPerVideo: argv['frames-per-video'] ?? 32 },
      label: argv.label,
      labelsFromPath: argv['labels-from-path'],
      minFace: argv['min-face'],
      maxFaces: argv['max-faces'],
      pick: argv.pick,
      minScore: argv['min-score'],
      groupBy: argv['group-by'],
      ffmpeg: argv.ffmpeg,
      saveFrames: argv['save-frames'],
      onProgress: (p) => {
        const rate = p.elapsedS > 0 ? (p.faces / p.elapsedS).toFixed(1) : '0';
        if (bar) {
          if (!barStarted) bar.start(p.sourcesTotal, p.sourcesDone, { frames: 0, faces: 0, rate });
          barStarted = true;
          bar.update(p.sourcesDone, { frames: p.frames, faces: p.faces, rate });
        } else if (!argv.quiet && !argv.json && p.elapsedS - lastLog >= 10) {
          lastLog = p.elapsedS; // no TTY (a log file): a line every 10 s instead of a bar
          process.stderr.write(`[prepare] ${p.sourcesDone}/${p.sourcesTotal} sources, ${p.frames} frames, ${p.faces} faces, ${rate} faces/s\n`);
        }
      },
    });
    bar?.stop();
    if (argv.json) {
      console.log(JSON.stringify(summary));
      return;
    }
    const skipped = Object.entries(summary.skipped).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    console.log(
      [
        `out: ${summary.out} (manifest.csv, sources.csv, summary.json)`,
        `detector: ${summary.detector}`,
        `sources: ${summary.sources.found} found, ${summary.sources.alreadyDone} already done, ${summary.sources.processed} processed, ${summary.sources.failed} failed`,
        `frames: ${summary.frames} (${summary.images} images, ${summary.videos} videos), ${summary.framesPerSecond} frames/s`,
        `faces: ${summary.faces} written (real ${summary.byLabel.real}, fake ${summary.byLabel.fake}), ${summary.totalFaces} in the manifest, ${summary.facesPerSecond} faces/s`,
        `skipped frames: ${skipped}`,
        ...(summary.extraFaces ? [`faces beyond --max-faces: ${summary.extraFaces}`] : []),
        ...(summary.groupByMisses ? [`--group-by did not match ${summary.groupByMisses} sources (named by file instead)`] : []),
        ...summary.failures.slice(0, 20).map((f) => `failed: ${f.source}: ${f.reason} — ${f.detail}`),
        ...(summary.failures.length > 20 ? [`… ${summary.failures.length - 20} more failures in sources.csv`] : []),
      ].join('\n'),
    );
  },
};
