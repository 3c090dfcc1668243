import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VideoDecodeError } from '../../src/prepare/errors.ts';
import { parseProbe, probeVideo, readVideoFrames, sampleFrameIndices } from '../../src/prepare/ffmpeg.ts';
import { greyFrame, meanLevel, writeCorruptVideo, writeVideo } from './fixtures.ts';

const PROBE_MP4 = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:00:02.00, start: 0.000000, bitrate: 43 kb/s
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240 [SAR 1:1 DAR 4:3], 39 kb/s, 29.97 fps, 29.97 tbr, 10240 tbn, 20 tbc (default)
    Metadata:
      rotate          : 90
      handler_name    : VideoHandler
Output #0, null, to 'pipe:':
    Stream #0:0(und): Video: h264 (High) (avc1 / 0x31637661), yuv420p, 320x240, q=2-31, 29.97 fps
frame=   59 fps=0.0 q=-1.0 Lsize=N/A time=00:00:01.90 bitrate=N/A speed=1.9e+04x
`;

test('parseProbe reads size (swapped by a 90° rotation), rate, duration and the counted frames', () => {
  const info = parseProbe(PROBE_MP4);
  assert.deepEqual(info, { width: 240, height: 320, fps: 29.97, frameCount: 59, durationS: 2, codec: 'h264' });
  assert.equal(parseProbe('x.mp4: Invalid data found when processing input'), undefined);
});

test('frame sampling: N evenly spaced frames, or one per 1/fps seconds', () => {
  assert.deepEqual(sampleFrameIndices({ frameCount: 100, fps: 25 }, { framesPerVideo: 4 }), [12, 37, 62, 87]);
  assert.deepEqual(sampleFrameIndices({ frameCount: 3, fps: 25 }, { framesPerVideo: 32 }), [0, 1, 2]);
  assert.deepEqual(sampleFrameIndices({ frameCount: 100, fps: 25 }, { fps: 1 }), [0, 25, 50, 75]);
  const ntsc = sampleFrameIndices({ frameCount: 300, fps: 29.97 }, { fps: 2 });
  assert.equal(ntsc.length, Math.floor((299 * 2) / 29.97) + 1); // one per started half-second slot
  for (let i = 1; i < ntsc.length; i++) assert.ok([14, 15, 16].includes(ntsc[i] - ntsc[i - 1]));
  assert.deepEqual(sampleFrameIndices({ frameCount: 10, fps: 5 }, { fps: 30 }), [...Array(10).keys()]); // never more than every frame
  assert.deepEqual(sampleFrameIndices({ frameCount: 0, fps: 5 }, { framesPerVideo: 4 }), []);
});

test('a generated video: probe, then exactly the sampled frames, piped as RGB', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-ffmpeg-'));
  try {
    // Frame i is uniformly grey at level 8·i, so each decoded frame tells its own index.
    const video = join(dir, 'count.mp4');
    await writeVideo(video, Array.from({ length: 30 }, (_, i) => greyFrame(64, 48, 8 * i)), 10);
    const info = await probeVideo(video);
    assert.equal(info.width, 64);
    assert.equal(info.height, 48);
    assert.equal(info.frameCount, 30);
    assert.equal(info.fps, 10);

    const even = [];
    for await (const f of readVideoFrames(video, { framesPerVideo: 5 }, { info })) even.push(f);
    assert.deepEqual(even.map((f) => f.index), [3, 9, 15, 21, 27]);
    for (const f of even) {
      assert.equal(f.image.data.length, 64 * 48 * 3);
      assert.ok(Math.abs(meanLevel(f.image) - 8 * f.index) < 4, `frame ${f.index} has level ${meanLevel(f.image)}`);
      assert.ok(Math.abs(f.timeS - f.index / 10) < 1e-9);
    }

    const rate = [];
    for await (const f of readVideoFrames(video, { fps: 2.5 }, { info })) rate.push(f);
    assert.deepEqual(rate.map((f) => f.index), [0, 4, 8, 12, 16, 20, 24, 28]);
    for (const f of rate) assert.ok(Math.abs(meanLevel(f.image) - 8 * f.index) < 4);

    // Stopping early kills ffmpeg and leaves nothing hanging.
    for await (const f of readVideoFrames(video, { framesPerVideo: 30 }, { info })) if (f.index === 2) break;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a corrupt video is a named VideoDecodeError (reason corrupt-video)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fdft-ffmpeg-'));
  try {
    const bad = join(dir, 'bad.mp4');
    await writeCorruptVideo(bad);
    await assert.rejects(probeVideo(bad), (e: unknown) => e instanceof VideoDecodeError && e.reason === 'corrupt-video' && e.name === 'VideoDecodeError');
    await assert.rejects(probeVideo(join(dir, 'missing.mp4')), VideoDecodeError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
