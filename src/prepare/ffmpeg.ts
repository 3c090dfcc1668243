/**
 * Video frames through ffmpeg, without writing any frame to disk: the size, rate and frame count are
 * probed with ffmpeg itself (ffprobe is not always shipped), then the chosen frames are selected by
 * ffmpeg's `select` filter and piped as raw RGB (`-f rawvideo -pix_fmt rgb24 pipe:1`).
 *
 * The binary: `FDFT_FFMPEG` or an explicit path, else a system `ffmpeg` on PATH, else the prebuilt
 * one that `@ffmpeg-installer/ffmpeg` installs from the npm registry.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { VideoDecodeError } from './errors.ts';
import type { RgbImage } from './rgbImage.ts';

export interface VideoInfo {
  /** Frame size after ffmpeg's auto-rotation (what the piped frames have). */
  width: number;
  height: number;
  /** Frames per second (the stream's average rate, else its tbr). */
  fps: number;
  /** Number of video frames (packets counted by a stream copy; else duration × fps). */
  frameCount: number;
  durationS: number;
  codec: string;
}

export interface VideoFrame {
  /** 0-based index of the frame in the video (decode order of ffmpeg's `n`). */
  index: number;
  /** Its time in seconds (index / fps). */
  timeS: number;
  image: RgbImage;
}

/** How to pick frames: N evenly spaced over the video, or a rate in frames per second. */
export type FrameSampling = { framesPerVideo: number } | { fps: number };

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let cachedPath: string | undefined;

/** The ffmpeg binary to use (see the module comment for the order). */
export function findFfmpeg(explicit?: string): string {
  const wanted = explicit ?? process.env.FDFT_FFMPEG;
  if (wanted) {
    if (!isExecutable(wanted)) throw new VideoDecodeError(`ffmpeg '${wanted}' is not an executable file`, 'ffmpeg-missing');
    return wanted;
  }
  if (cachedPath) return cachedPath;
  const exe = process.platform === 'win32' ? 'ffmpeg.exe' : 'ffmpeg';
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, exe))) return (cachedPath = join(dir, exe));
  }
  try {
    const require = createRequire(import.meta.url);
    const p = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    if (isExecutable(p)) return (cachedPath = p);
  } catch {
    // fall through to the error below
  }
  throw new VideoDecodeError(
    'no ffmpeg found: install @ffmpeg-installer/ffmpeg (npm) or a system ffmpeg, or set FDFT_FFMPEG',
    'ffmpeg-missing',
  );
}

function run(bin: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.setEncoding('utf8');
    p.stderr.on('data', (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

/** The last meaningful ffmpeg error line, for reports. */
function ffmpegError(stderr: string, path: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.split(`${path}: `).join('').trim())
    .filter(Boolean);
  const err = lines.filter((l) => /invalid|error|not found|no such|corrupt|could not|unknown|moov/i.test(l));
  return (err.at(-1) ?? lines.at(-1) ?? 'ffmpeg failed').slice(0, 300);
}

/** Parses `ffmpeg -i FILE -map 0:v:0 -c copy -f null -` output (input section + final frame count). */
export function parseProbe(stderr: string): VideoInfo | undefined {
  const input = stderr.split(/\nOutput #0|\nStream mapping/)[0];
  const stream = input.match(/Stream #0:\d+[^:\n]*: Video: ([^\n]+)/);
  if (!stream) return undefined;
  const line = stream[1];
  const size = line.match(/,\s*(\d{1,5})x(\d{1,5})/);
  if (!size) return undefined;
  let width = Number(size[1]);
  let height = Number(size[2]);
  const rate = line.match(/([\d.]+)(k?) fps/) ?? line.match(/([\d.]+)(k?) tbr/);
  const fps = rate ? Number(rate[1]) * (rate[2] === 'k' ? 1000 : 1) : 25;
  const dur = input.match(/Duration: (\d+):(\d+):([\d.]+)/);
  const durationS = dur ? Number(dur[1]) * 3600 + Number(dur[2]) * 60 + Number(dur[3]) : 0;
  // ffmpeg auto-rotates phone videos: a quarter turn swaps the piped frame size.
  const rot = input.match(/rotate\s*:\s*(-?\d+)/) ?? input.match(/rotation of (-?[\d.]+) degrees/);
  if (rot && Math.abs(Math.round(Number(rot[1]) / 90)) % 2 === 1) [width, height] = [height, width];
  const counted = [...stderr.matchAll(/frame=\s*(\d+)/g)].at(-1);
  const frameCount = counted && Number(counted[1]) > 0 ? Number(counted[1]) : Math.floor(durationS * fps);
  return { width, height, fps, frameCount, durationS, codec: line.split(/[\s,]/)[0] };
}

/** Size, rate and frame count of the first video stream. Throws VideoDecodeError for a bad file. */
export async function probeVideo(path: string, ffmpeg = findFfmpeg()): Promise<VideoInfo> {
  const { code, stderr } = await run(ffmpeg, ['-hide_banner', '-nostdin', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'null', '-']);
  const info = parseProbe(stderr);
  if (!info) {
    const noVideo = /Input #0/.test(stderr) && !/Video:/.test(stderr);
    throw new VideoDecodeError(
      `${path}: ${noVideo ? 'no video stream' : ffmpegError(stderr, path)}`,
      noVideo ? 'no-video-stream' : 'corrupt-video',
    );
  }
  if (code !== 0 && info.frameCount === 0) throw new VideoDecodeError(`${path}: ${ffmpegError(stderr, path)}`, 'corrupt-video');
  return info;
}

/**
 * Indices of the frames to take. `framesPerVideo`: N evenly spaced frames, the middle of N equal
 * slices (all frames when the video is shorter). `fps`: the first frame of every 1/fps-second slot,
 * computed exactly as the ffmpeg expression of `selectExpression` computes it.
 */
export function sampleFrameIndices(info: Pick<VideoInfo, 'frameCount' | 'fps'>, sampling: FrameSampling): number[] {
  const n = info.frameCount;
  if (n <= 0) return [];
  if ('framesPerVideo' in sampling) {
    const k = Math.max(1, Math.floor(sampling.framesPerVideo));
    if (k >= n) return Array.from({ length: n }, (_, i) => i);
    return Array.from({ length: k }, (_, i) => Math.min(n - 1, Math.floor(((i + 0.5) * n) / k)));
  }
  const c = rateRatio(info.fps, sampling.fps);
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (i === 0 || Math.floor(i * c) > Math.floor((i - 1) * c)) out.push(i);
  return out;
}

function rateRatio(videoFps: number, wantFps: number): number {
  return Math.min(1, wantFps / (videoFps > 0 ? videoFps : 25));
}

/** The `select` filter expression for the sampling (frame numbers `n` start at 0). */
export function selectExpression(info: Pick<VideoInfo, 'frameCount' | 'fps'>, sampling: FrameSampling): string {
  if ('fps' in sampling) {
    const c = rateRatio(info.fps, sampling.fps).toPrecision(17);
    return `eq(n\\,0)+gt(floor(n*${c})\\,floor((n-1)*${c}))`;
  }
  return sampleFrameIndices(info, sampling).map((i) => `eq(n\\,${i})`).join('+') || '0';
}

/**
 * Decodes the sampled frames of `path` as RGB, streaming (at most a few frames in memory). A video
 * that breaks off mid-way yields the frames before the break and then throws VideoDecodeError with
 * `framesDecoded` > 0; one that yields nothing throws 'corrupt-video'.
 */
export async function* readVideoFrames(
  path: string,
  sampling: FrameSampling,
  opts: { ffmpeg?: string; info?: VideoInfo } = {},
): AsyncGenerator<VideoFrame> {
  const ffmpeg = opts.ffmpeg ?? findFfmpeg();
  const info = opts.info ?? (await probeVideo(path, ffmpeg));
  const indices = sampleFrameIndices(info, sampling);
  if (indices.length === 0) return;
  const { width, height } = info;
  const frameBytes = width * height * 3;
  // The explicit scale keeps the frame size exactly the probed one whatever ffmpeg decides.
  const filter = `select='${selectExpression(info, sampling)}',scale=${width}:${height}`;
  const proc = spawn(
    ffmpeg,
    ['-hide_banner', '-nostdin', '-v', 'error', '-i', path, '-map', '0:v:0', '-an', '-vf', filter, '-vsync', '0', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d: string) => {
    if (stderr.length < 1 << 16) stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  let spawnError: Error | undefined;
  proc.on('error', (e) => (spawnError = e));

  let emitted = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let finished = false;
  try {
    for await (const chunk of proc.stdout as AsyncIterable<Buffer>) {
      pending.push(chunk);
      pendingBytes += chunk.length;
      while (pendingBytes >= frameBytes) {
        const all = pending.length === 1 ? pending[0] : Buffer.concat(pending);
        const frame = new Uint8Array(frameBytes);
        frame.set(all.subarray(0, frameBytes));
        const rest = all.subarray(frameBytes);
        pending = rest.length ? [rest] : [];
        pendingBytes = rest.length;
        // More frames than predicted (a miscounted stream) keep increasing indices.
        const index = emitted < indices.length ? indices[emitted] : (indices.at(-1) ?? 0) + (emitted - indices.length + 1);
        emitted++;
        yield { index, timeS: index / (info.fps || 25), image: { width, height, data: frame } };
      }
    }
    const code = await exited;
    finished = true;
    if (spawnError) throw new VideoDecodeError(`cannot run ffmpeg: ${spawnError.message}`, 'ffmpeg-missing');
    if (code !== 0) {
      throw new VideoDecodeError(`${path}: ${ffmpegError(stderr, path)}`, 'corrupt-video', emitted);
    }
    if (emitted === 0) throw new VideoDecodeError(`${path}: ffmpeg decoded no frame`, 'corrupt-video');
  } finally {
    if (!finished) proc.kill('SIGKILL'); // consumer stopped early or an error: don't leave ffmpeg running
  }
}
