import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** One model the router tried, and how it failed. */
export interface RouteAttemptFailure {
  route: 'local' | 'teacher' | 'builtin';
  provider: string;
  model: string;
  error: unknown;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * There is no model that could take the request: the local model is unusable (absent, failed, or
 * unable to take this request) and no teacher is configured.
 */
export class NoRouteError extends ShammahError {
  override readonly name = 'NoRouteError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('router_no_route', message, options);
  }
}

/**
 * Every model the router tried failed before it could answer. `attempts` lists each failure in the
 * order tried; `cause` is the last one.
 */
export class NoRouteAnsweredError extends ShammahError {
  override readonly name = 'NoRouteAnsweredError';
  readonly attempts: readonly RouteAttemptFailure[];

  constructor(attempts: readonly RouteAttemptFailure[]) {
    const list = attempts.map(
      (attempt) => `${attempt.provider}:${attempt.model} (${describe(attempt.error)})`,
    );
    super(
      'router_no_route_answered',
      `No model could answer: ${list.join('; ')}. ` +
        'Check the network and the teachers\u2019 API keys (`/status` shows each one), or ask the local model with /local.',
      { cause: attempts.at(-1)?.error },
    );
    this.attempts = attempts;
  }
}

/** The request's `model` names neither `local` nor a configured teacher. */
export class UnknownModelError extends ShammahError {
  override readonly name = 'UnknownModelError';
  readonly requested: string;
  /** The names a request may use. */
  readonly available: readonly string[];

  constructor(requested: string, teachers: readonly string[], hasLocal: boolean) {
    const names = ['auto', 'teacher', ...(hasLocal ? ['local'] : [])].map((name) => `"${name}"`).join(', ');
    super(
      'router_unknown_model',
      `The model "${requested}" is not one the router knows. Use ${names}, or a configured teacher: ` +
        `${teachers.length > 0 ? teachers.map((name) => `"${name}"`).join(', ') : '(none configured)'}.`,
    );
    this.requested = requested;
    this.available = ['auto', 'teacher', ...(hasLocal ? ['local'] : []), ...teachers];
  }
}

/** A request's routing fields are invalid (for example `force: 'cloud'`). */
export class InvalidRouteRequestError extends ShammahError {
  override readonly name = 'InvalidRouteRequestError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('router_invalid_request', message, options);
  }
}

/** The router's settings are unusable (for example a threshold outside 0–1). */
export class RouterConfigError extends ShammahError {
  override readonly name = 'RouterConfigError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('router_invalid_config', message, options);
  }
}
