/**
 * What `fdft prepare` keeps in its output folder, and how a run resumes:
 *
 *   OUT/real/*.png, OUT/fake/*.png   the crops (the data pipeline's flat layout)
 *   OUT/manifest.csv                 one row per crop (MANIFEST_COLUMNS)
 *   OUT/sources.csv                  one row per finished source (SOURCE_COLUMNS): the resume log
 *   OUT/prepare.json                 the crop options the folder was made with
 *   OUT/summary.json                 the last run's counts
 *
 * A source's crops are written first, then its manifest rows, then its sources.csv row: a source is
 * done only once the last is on disk. On start, manifest rows of sources that never reached
 * sources.csv (a run killed mid-source) are dropped, and those sources are processed again
 * (their crops have deterministic names, so they are simply overwritten).
 */
import { appendFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { csvLine, parseCsvRecords } from './csv.ts';
import { PrepareError } from './errors.ts';

export const MANIFEST_COLUMNS = [
  'file', // crop path relative to OUT, e.g. real/clip.mp4_f000012_0.png
  'label', // real | fake
  'group', // identity group: video / image name, DFDC original, or the --group-by capture
  'source', // source file relative to --input
  'kind', // image | video
  'frame', // frame index in the video (0 for images)
  'time_s', // frame time, seconds
  'face', // rank of the face in its frame (0 = largest)
  'score', // detector confidence
  'face_x', 'face_y', 'face_w', 'face_h', // detector box, source px
  'crop_x', 'crop_y', 'crop_size', // square taken from the source, px
  'angle', // rotation applied by --align, degrees
] as const;

export const SOURCE_COLUMNS = ['source', 'kind', 'label', 'group', 'status', 'frames', 'faces', 'skipped', 'detail'] as const;

export type ManifestRow = Record<(typeof MANIFEST_COLUMNS)[number], string | number>;
export type SourceRow = Record<(typeof SOURCE_COLUMNS)[number], string | number>;

/** The options that change what a crop looks like: a folder mixes no two settings of these. */
export interface CropSettings {
  size: number;
  margin: number;
  align: boolean;
  detector: string;
}

export class OutputState {
  private constructor(
    readonly dir: string,
    /** Sources finished by earlier runs, by relative path. */
    readonly done: Map<string, Record<string, string>>,
    /** Number of crops already listed in manifest.csv. */
    readonly previousFaces: number,
  ) {}

  get manifestPath(): string {
    return join(this.dir, 'manifest.csv');
  }

  get sourcesPath(): string {
    return join(this.dir, 'sources.csv');
  }

  /** Opens (creating) the output folder; checks that earlier runs used the same crop settings. */
  static async open(dir: string, settings: CropSettings): Promise<OutputState> {
    await mkdir(join(dir, 'real'), { recursive: true });
    await mkdir(join(dir, 'fake'), { recursive: true });
    const settingsPath = join(dir, 'prepare.json');
    const before = await readFile(settingsPath, 'utf8').then(
      (t) => JSON.parse(t) as Partial<CropSettings>,
      () => undefined,
    );
    if (before) {
      for (const k of ['size', 'margin', 'align', 'detector'] as const) {
        if (before[k] !== undefined && before[k] !== settings[k]) {
          throw new PrepareError(
            `${dir} was prepared with ${k} = ${JSON.stringify(before[k])}, this run asks for ${JSON.stringify(settings[k])}: ` +
              'use another --out, or the same options to resume',
          );
        }
      }
    } else {
      await writeFile(settingsPath, JSON.stringify(settings, null, 2) + '\n');
    }

    const sourcesText = await readFile(join(dir, 'sources.csv'), 'utf8').catch(() => '');
    const done = new Map<string, Record<string, string>>();
    // A row counts only when its line is complete (a run killed mid-write leaves a partial line).
    const complete = sourcesText.endsWith('\n') ? sourcesText : sourcesText.slice(0, sourcesText.lastIndexOf('\n') + 1);
    for (const r of parseCsvRecords(complete)) if (r.source && r.status) done.set(r.source, r);
    if (!sourcesText) await writeFile(join(dir, 'sources.csv'), csvLine([...SOURCE_COLUMNS]));
    else if (complete !== sourcesText) await writeFile(join(dir, 'sources.csv'), complete);

    // Keep only manifest rows of finished sources.
    const manifestPath = join(dir, 'manifest.csv');
    const manifestText = await readFile(manifestPath, 'utf8').catch(() => '');
    let previousFaces = 0;
    if (!manifestText) {
      await writeFile(manifestPath, csvLine([...MANIFEST_COLUMNS]));
    } else {
      const rows = parseCsvRecords(manifestText.endsWith('\n') ? manifestText : manifestText.slice(0, manifestText.lastIndexOf('\n') + 1));
      const kept = rows.filter((r) => done.has(r.source));
      previousFaces = kept.length;
      if (kept.length !== rows.length || !manifestText.endsWith('\n')) {
        const text = csvLine([...MANIFEST_COLUMNS]) + kept.map((r) => csvLine(MANIFEST_COLUMNS.map((c) => r[c]))).join('');
        await writeFile(manifestPath + '.tmp', text);
        await rename(manifestPath + '.tmp', manifestPath);
      }
    }
    return new OutputState(dir, done, previousFaces);
  }

  /** Records a finished source: its manifest rows, then its resume-log row. */
  async commit(source: SourceRow, rows: ManifestRow[]): Promise<void> {
    if (rows.length) await appendFile(this.manifestPath, rows.map((r) => csvLine(MANIFEST_COLUMNS.map((c) => r[c]))).join(''));
    await appendFile(this.sourcesPath, csvLine(SOURCE_COLUMNS.map((c) => source[c])));
    this.done.set(String(source.source), Object.fromEntries(SOURCE_COLUMNS.map((c) => [c, String(source[c])])));
  }
}
