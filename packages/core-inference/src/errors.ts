import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** The model is not in the cache or the given path. */
export class ModelNotFoundError extends ShammahError {
  override readonly name = 'ModelNotFoundError';
  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('model_not_found', message, options);
  }
}

/** A model file is unreadable, truncated or not what it claims to be. */
export class CorruptModelError extends ShammahError {
  override readonly name = 'CorruptModelError';
  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('model_corrupt', message, options);
  }
}

/** The model's architecture or graph layout is one Shammah cannot run. */
export class UnsupportedModelError extends ShammahError {
  override readonly name = 'UnsupportedModelError';
  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('model_unsupported', message, options);
  }
}

/** The machine ran out of memory loading or running the model. */
export class OutOfMemoryError extends ShammahError {
  override readonly name = 'OutOfMemoryError';
  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('out_of_memory', message, options);
  }
}

/** Fetching a model from the hub failed. */
export class DownloadError extends ShammahError {
  override readonly name = 'DownloadError';
  readonly statusCode: number | undefined;
  constructor(message: string, options: ShammahErrorOptions & { statusCode?: number } = {}) {
    super('download_failed', message, options);
    this.statusCode = options.statusCode;
  }
}

/** The model is not ready to generate (still loading, or failed to load). */
export class ModelNotReadyError extends ShammahError {
  override readonly name = 'ModelNotReadyError';
  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('model_not_ready', message, options);
  }
}
