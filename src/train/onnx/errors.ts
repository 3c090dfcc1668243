/** A model or graph that the onnxruntime training path cannot train (the caller falls back to tfjs or reports it). */
export class OnnxTrainingError extends Error {
  override name = 'OnnxTrainingError';
}
