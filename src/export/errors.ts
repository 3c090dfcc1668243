/** A tfjs model (or one of its layers) that cannot be written as ONNX. */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}
