/** Named errors of `fdft prepare` (bad input gets a clear, named error). */

/** Bad options or an unusable input/output folder. */
export class PrepareError extends Error {
  override name = 'PrepareError';
}

/** The detector's model files are missing or malformed. */
export class DetectorError extends Error {
  override name = 'DetectorError';
}

/** ffmpeg is missing, or a video cannot be probed / decoded. */
export class VideoDecodeError extends Error {
  override name = 'VideoDecodeError';
  constructor(
    message: string,
    /** Named reason, used as the skip reason: 'corrupt-video', 'no-video-stream', 'ffmpeg-missing'. */
    readonly reason: string = 'corrupt-video',
    /** Frames delivered before the failure (a video that breaks off mid-way). */
    readonly framesDecoded: number = 0,
  ) {
    super(message);
  }
}
