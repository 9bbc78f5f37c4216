import { type ApiCallError, ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/** No API key was configured for a cloud teacher. */
export class MissingApiKeyError extends ShammahError {
  override readonly name = 'MissingApiKeyError';
  readonly provider: string;
  readonly environmentVariables: readonly string[];

  constructor(provider: string, environmentVariables: readonly string[], options: ShammahErrorOptions = {}) {
    super(
      'missing_api_key',
      `No API key for the ${provider} teacher. Set ${environmentVariables.join(' or ')} in the environment, ` +
        `or set \`api_key\` in the teacher's [[teachers]] entry of ~/.shammah/config.toml ` +
        '(`apiKey` when creating the teacher in code).',
      options,
    );
    this.provider = provider;
    this.environmentVariables = environmentVariables;
  }
}

/** A teacher configuration names a provider this package does not know, or is otherwise unusable. */
export class TeacherConfigError extends ShammahError {
  override readonly name = 'TeacherConfigError';

  constructor(message: string, options: ShammahErrorOptions = {}) {
    super('invalid_teacher_config', message, options);
  }
}

/** One teacher's failure inside a {@link TeacherChain}. */
export interface TeacherFailure {
  teacher: string;
  error: unknown;
}

/** Every teacher of a chain failed; `failures` holds each one's error in order. */
export class AllTeachersFailedError extends ShammahError {
  override readonly name = 'AllTeachersFailedError';
  readonly failures: readonly TeacherFailure[];

  constructor(failures: readonly TeacherFailure[]) {
    const summary = failures
      .map(({ teacher, error }) => `${teacher}: ${error instanceof Error ? error.message : String(error)}`)
      .join('\n  ');
    super(
      'all_teachers_failed',
      `Every teacher failed:\n  ${summary}\nCheck the API keys and network, or add another [[teachers]] entry as a fallback.`,
      { cause: failures.at(-1)?.error },
    );
    this.failures = failures;
  }
}

/** Narrows to the provider's {@link ApiCallError} across copies of the package. */
export function isApiCallError(error: unknown): error is ApiCallError {
  return (
    error instanceof Error &&
    error.name === 'ApiCallError' &&
    typeof (error as { kind?: unknown }).kind === 'string'
  );
}
