// Named errors of the engine. Each says what was wrong and with which numbers, so a caller (or a user
// reading the dashboard) can act on it without a stack trace.

/** A tensor view is too small for the shape an op was asked to use, or dims are not positive integers. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}

/** A token id outside [0, vocab). */
export class TokenRangeError extends RangeError {
  override name = 'TokenRangeError';
}

/** config.json names an architecture or field values the engine does not support. */
export class UnsupportedModelError extends Error {
  override name = 'UnsupportedModelError';
}

/** A config.json field is missing or has the wrong type or value. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A safetensors file (or shard index) is malformed: bad header, truncated data, unknown dtype. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

/** A checkpoint's tensors do not match the model config (missing, extra or wrongly shaped). */
export class WeightsMismatchError extends Error {
  override name = 'WeightsMismatchError';
}

/** The model, batch and sequence length need more memory than the device (or the caller's budget) allows. */
export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
  constructor(
    message: string,
    readonly neededBytes: number,
    readonly limitBytes: number,
  ) {
    super(message);
  }
}

/** The engine was used after dispose(), or calls came in the wrong order (backward without forward). */
export class EngineStateError extends Error {
  override name = 'EngineStateError';
}
