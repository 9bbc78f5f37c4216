import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** A training example that cannot be stored or read: the message names the field and the fix. */
export class InvalidExampleError extends ShammahError {
  override readonly name = 'InvalidExampleError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('lora_invalid_example', message, options);
  }
}

/** An example whose queue line would exceed the size that is appended atomically. */
export class ExampleTooLargeError extends ShammahError {
  override readonly name = 'ExampleTooLargeError';
  /** The size the line would have had, in bytes. */
  readonly bytes: number;
  readonly limit: number;

  constructor(bytes: number, limit: number) {
    super(
      'lora_example_too_large',
      `The training example is ${bytes} bytes as a queue line even after dropping its older messages, ` +
        `over the ${limit}-byte limit of an atomic append. Shorten the response or the last message.`,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Who holds a lock file. */
export interface LockHolder {
  pid: number;
  hostname: string;
  purpose: string;
  acquiredAt: string;
}

/** A lock file is held by another live process. */
export class LockBusyError extends ShammahError {
  override readonly name = 'LockBusyError';
  readonly path: string;
  readonly holder: LockHolder | undefined;

  constructor(path: string, holder: LockHolder | undefined, options: ShammahErrorOptions = {}) {
    super(
      'lora_lock_busy',
      holder
        ? `${path} is held by process ${holder.pid} on ${holder.hostname} (${holder.purpose}, since ${holder.acquiredAt}). ` +
            'Wait for it to finish; if that process is gone for good, delete the file.'
        : `${path} is held by another process. Wait for it to finish; if no Shammah process is running, delete the file.`,
      options,
    );
    this.path = path;
    this.holder = holder;
  }
}

/** A training is already running, in this process or another (the daemon, another CLI). */
export class TrainingInProgressError extends ShammahError {
  override readonly name = 'TrainingInProgressError';
  /** The process that trains, when known. */
  readonly pid: number | undefined;

  constructor(message: string, pid?: number, options: ShammahErrorOptions = {}) {
    super('lora_training_in_progress', message, options);
    this.pid = pid;
  }
}

/** Training was asked for with an empty queue. */
export class NoExamplesError extends ShammahError {
  override readonly name = 'NoExamplesError';

  constructor(queuePath: string) {
    super(
      'lora_no_examples',
      `The training queue ${queuePath} holds no usable examples. Give feedback on some answers first ` +
        '(/feedback, /critical, /medium, /good, or POST /v1/feedback).',
    );
  }
}

/** The Python trainer (training/ and its venv) cannot be found. */
export class TrainerNotFoundError extends ShammahError {
  override readonly name = 'TrainerNotFoundError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('lora_trainer_not_found', message, options);
  }
}

/** The trainer process failed. Carries its error code, exit status and the end of its stderr. */
export class TrainerFailedError extends ShammahError {
  override readonly name = 'TrainerFailedError';
  /** The trainer's own error code (`bad_job`, `base_model`, `internal`, …), when it reported one. */
  readonly trainerCode: string | undefined;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last lines the trainer wrote to stderr. */
  readonly stderr: string;

  constructor(
    message: string,
    details: {
      trainerCode?: string;
      exitCode: number | null;
      signal: NodeJS.Signals | null;
      stderr: string;
    },
    options: ShammahErrorOptions = {},
  ) {
    super('lora_trainer_failed', message, options);
    this.trainerCode = details.trainerCode;
    this.exitCode = details.exitCode;
    this.signal = details.signal;
    this.stderr = details.stderr;
  }
}

/** The training was cancelled; nothing was published and the active model is unchanged. */
export class TrainingCancelledError extends ShammahError {
  override readonly name = 'TrainingCancelledError';

  constructor(reason: string) {
    super(
      'lora_training_cancelled',
      `The training was cancelled (${reason}); the active model is unchanged.`,
    );
  }
}

/** No adapter of that version exists. */
export class AdapterNotFoundError extends ShammahError {
  override readonly name = 'AdapterNotFoundError';
  readonly version: string;

  constructor(version: string, available: readonly string[]) {
    super(
      'lora_adapter_not_found',
      `There is no adapter "${version}". ` +
        (available.length > 0
          ? `Available: ${available.join(', ')} (see \`shammah lora list\`).`
          : 'No adapter has been trained yet; run `shammah lora train`.'),
    );
    this.version = version;
  }
}

/** An adapter directory is incomplete or its manifest is unreadable. */
export class CorruptAdapterError extends ShammahError {
  override readonly name = 'CorruptAdapterError';
  readonly version: string;

  constructor(version: string, message: string, options: ShammahErrorOptions = {}) {
    super('lora_corrupt_adapter', message, options);
    this.version = version;
  }
}

/** The adapter is the active model and cannot be removed; roll back or activate another first. */
export class AdapterActiveError extends ShammahError {
  override readonly name = 'AdapterActiveError';
  readonly version: string;

  constructor(version: string) {
    super(
      'lora_adapter_active',
      `Adapter "${version}" is the active model. Run \`shammah lora rollback\` (or \`shammah lora use <other>\`) before removing it.`,
    );
    this.version = version;
  }
}
