import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** A request body, header or parameter is not what the API accepts. */
export class InvalidRequestError extends ShammahError {
  override readonly name = 'InvalidRequestError';
  /** The offending field, as a dotted path (`messages.[0].content`), when there is one. */
  readonly param: string | undefined;

  constructor(message: string, options: ShammahErrorOptions & { param?: string; code?: string } = {}) {
    super(options.code ?? 'invalid_request', message, options);
    this.param = options.param;
  }
}

/** The body is not valid JSON. */
export class InvalidJsonError extends ShammahError {
  override readonly name = 'InvalidJsonError';

  constructor(detail: string, options: ShammahErrorOptions = {}) {
    super(
      'invalid_json',
      `The request body is not valid JSON (${detail}). Send a JSON object with the header ` +
        '`Content-Type: application/json`, for example with curl: --data \'{"model": "shammah", …}\'.',
      options,
    );
  }
}

/** The body was sent with a content type other than JSON. */
export class UnsupportedMediaTypeError extends ShammahError {
  override readonly name = 'UnsupportedMediaTypeError';

  constructor(contentType: string | undefined) {
    super(
      'unsupported_media_type',
      `The request body must be JSON, but its Content-Type is ${contentType ? `"${contentType}"` : 'missing'}. ` +
        'Send the header `Content-Type: application/json` (curl: -H "Content-Type: application/json").',
    );
  }
}

/** The body is larger than the daemon accepts. */
export class PayloadTooLargeError extends ShammahError {
  override readonly name = 'PayloadTooLargeError';
  readonly limitBytes: number;

  constructor(limitBytes: number) {
    super(
      'payload_too_large',
      `The request body is larger than the ${formatBytes(limitBytes)} the daemon accepts. ` +
        'Send a shorter conversation, or raise the limit (maxBodyBytes).',
    );
    this.limitBytes = limitBytes;
  }
}

/** The request carries a content part the chosen model cannot read (an image for a text-only model). */
export class UnsupportedContentError extends ShammahError {
  override readonly name = 'UnsupportedContentError';
  readonly param: string | undefined;

  constructor(message: string, options: ShammahErrorOptions & { param?: string } = {}) {
    super('unsupported_content', message, options);
    this.param = options.param;
  }
}

/** The API key is missing or wrong. */
export class AuthenticationError extends ShammahError {
  override readonly name = 'AuthenticationError';

  constructor(message: string) {
    super('unauthorized', message);
  }
}

/** A request asked the daemon to run its own tools, but the daemon's config does not allow it. */
export class ServerToolsDisabledError extends ShammahError {
  override readonly name = 'ServerToolsDisabledError';

  constructor() {
    super(
      'server_tools_disabled',
      'This request asks the daemon to run its own tools (x-shammah-tools: server or shammah_tools: "server"), ' +
        'but this daemon does not run tools for clients. Run the tool calls on your side (send the request ' +
        'without the opt-in), or let the daemon run them: set [server] tools = "read-only" (or "all") and ' +
        'tools_dir in config.toml, and restart the daemon.',
    );
  }
}

/** No such endpoint, session or other resource. */
export class NotFoundError extends ShammahError {
  override readonly name = 'NotFoundError';

  constructor(message: string, options: ShammahErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'not_found', message, options);
  }
}

/** The request names a model the daemon does not serve (only with `strictModels`). */
export class UnknownModelError extends ShammahError {
  override readonly name = 'UnknownModelError';
  readonly requested: string;
  readonly available: readonly string[];

  constructor(requested: string, available: readonly string[]) {
    super(
      'unknown_model',
      `The model "${requested}" is not served by this daemon. Use one of: ${available.map((id) => `"${id}"`).join(', ')} ` +
        '(GET /v1/models lists them).',
    );
    this.requested = requested;
    this.available = available;
  }
}

/** The request names the model `teacher`, but the daemon has no teacher. */
export class NoTeacherError extends ShammahError {
  override readonly name = 'NoTeacherError';
  readonly available: readonly string[];

  constructor(available: readonly string[]) {
    super(
      'no_teacher',
      'The model "teacher" asks for a cloud teacher, but this daemon has none. Add a [[teachers]] entry to ' +
        `config.toml (or set ANTHROPIC_API_KEY) and restart the daemon, or use one of: ${available.map((id) => `"${id}"`).join(', ')}.`,
    );
    this.available = available;
  }
}

/** The local model's wait queue is full. */
export class QueueFullError extends ShammahError {
  override readonly name = 'QueueFullError';
  /** When a retry is likely to be accepted. */
  readonly retryAfterSeconds: number;

  constructor(queued: number, retryAfterSeconds: number) {
    super(
      'queue_full',
      `The local model is busy: ${queued} requests are already waiting. Retry after ${retryAfterSeconds} s ` +
        '(see the retry-after header), or raise maxQueuedRequests.',
    );
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The daemon is shutting down and takes no new requests. */
export class ShuttingDownError extends ShammahError {
  override readonly name = 'ShuttingDownError';

  constructor() {
    super(
      'shutting_down',
      'The daemon is shutting down and takes no new requests. Start it again and retry.',
    );
  }
}

/** The daemon's settings are unusable. */
export class DaemonConfigError extends ShammahError {
  override readonly name = 'DaemonConfigError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('daemon_invalid_config', message, options);
  }
}

/** A daemon is already running for this Shammah home. */
export class DaemonAlreadyRunningError extends ShammahError {
  override readonly name = 'DaemonAlreadyRunningError';
  readonly pid: number;
  readonly address: string | undefined;

  constructor(pid: number, address: string | undefined, pidFile: string) {
    super(
      'daemon_already_running',
      `A Shammah daemon is already running (pid ${pid}${address ? `, at ${address}` : ''}; PID file ${pidFile}). ` +
        'Stop it with `shammah-daemon stop`, or use `shammah-daemon restart`.',
    );
    this.pid = pid;
    this.address = address;
  }
}

/** Starting the daemon failed. */
export class DaemonStartError extends ShammahError {
  override readonly name = 'DaemonStartError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('daemon_start_failed', message, options);
  }
}

/** Stopping the daemon failed (for example, the process belongs to another user). */
export class DaemonStopError extends ShammahError {
  override readonly name = 'DaemonStopError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('daemon_stop_failed', message, options);
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KiB`;
  return `${bytes} bytes`;
}
