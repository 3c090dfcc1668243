/** A model asked for with options it cannot be built with (unknown backbone, too small an input…). */
export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
}
