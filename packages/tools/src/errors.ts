import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';

/**
 * A tool could not do what it was asked. The message is written for the model and the user: it quotes
 * the bad input and says what to do instead. The tool loop turns it into an error result.
 */
export class ToolError extends ShammahError {
  override readonly name: string = 'ToolError';
}

/** The model called a tool that does not exist. */
export class UnknownToolError extends ToolError {
  override readonly name = 'UnknownToolError';
  readonly toolName: string;

  constructor(toolName: string, available: readonly string[], options: ShammahErrorOptions = {}) {
    super(
      'tool_unknown',
      `There is no tool named "${toolName}". Available tools: ${available.join(', ')}. ` +
        'Call one of these by its exact name.',
      options,
    );
    this.toolName = toolName;
  }
}

/** A tool call's input does not match the tool's schema. */
export class ToolInputError extends ToolError {
  override readonly name = 'ToolInputError';
  readonly toolName: string;

  constructor(toolName: string, details: string, options: ShammahErrorOptions = {}) {
    super(
      'tool_invalid_input',
      `Invalid input for ${toolName}:\n${details}\nFix the arguments and call ${toolName} again.`,
      options,
    );
    this.toolName = toolName;
  }
}

/** A path the tool needs does not exist, or is not the kind of thing the tool works on. */
export class FileAccessError extends ToolError {
  override readonly name = 'FileAccessError';
  readonly path: string;

  constructor(
    code: 'file_not_found' | 'not_a_file' | 'not_a_directory' | 'binary_file' | 'file_too_large',
    path: string,
    message: string,
    options: ShammahErrorOptions = {},
  ) {
    super(code, message, options);
    this.path = path;
  }
}

/** An Edit's `old_string` is absent from the file or matches more than once. */
export class EditMatchError extends ToolError {
  override readonly name = 'EditMatchError';
  readonly path: string;

  constructor(
    code: 'edit_no_match' | 'edit_ambiguous' | 'edit_no_change',
    path: string,
    message: string,
    options: ShammahErrorOptions = {},
  ) {
    super(code, message, options);
    this.path = path;
  }
}

/** WebFetch refused or failed to fetch a URL. */
export class WebFetchError extends ToolError {
  override readonly name = 'WebFetchError';
  readonly url: string;
  readonly statusCode: number | undefined;

  constructor(
    code:
      | 'fetch_invalid_url'
      | 'fetch_blocked_address'
      | 'fetch_too_many_redirects'
      | 'fetch_timeout'
      | 'fetch_http_status'
      | 'fetch_unsupported_content'
      | 'fetch_failed',
    url: string,
    message: string,
    options: ShammahErrorOptions & { statusCode?: number } = {},
  ) {
    super(code, message, options);
    this.url = url;
    this.statusCode = options.statusCode;
  }
}

/** The permission policy (or the user) did not allow a tool call. */
export class PermissionDeniedError extends ToolError {
  override readonly name = 'PermissionDeniedError';
  readonly toolName: string;

  constructor(toolName: string, message: string, options: ShammahErrorOptions = {}) {
    super('permission_denied', message, options);
    this.toolName = toolName;
  }
}

/** A permission rules file is not valid JSON or holds a malformed rule. */
export class PermissionRulesError extends ShammahError {
  override readonly name = 'PermissionRulesError';
  readonly path: string | undefined;

  constructor(message: string, options: ShammahErrorOptions & { path?: string } = {}) {
    super('permission_rules_invalid', message, options);
    this.path = options.path;
  }
}

/** The host gave the Restart tool no way to restart. */
export class RestartUnavailableError extends ToolError {
  override readonly name = 'RestartUnavailableError';

  constructor(options: ShammahErrorOptions = {}) {
    super(
      'restart_unavailable',
      'This host cannot restart itself (it passed no requestRestart callback). Tell the user to restart it by hand.',
      options,
    );
  }
}

/** A tool call was cancelled through its AbortSignal. */
export class ToolAbortedError extends ToolError {
  override readonly name = 'ToolAbortedError';

  constructor(toolName: string, options: ShammahErrorOptions = {}) {
    super('tool_aborted', `${toolName} was cancelled before it finished.`, options);
  }
}

/**
 * Throws a {@link ToolAbortedError} for `toolName` when `signal` is aborted: tools call it before they
 * start and before each step that cannot be undone (a rename), so a cancelled call changes nothing.
 */
export function throwIfToolAborted(signal: AbortSignal, toolName: string): void {
  if (signal.aborted) throw new ToolAbortedError(toolName, { cause: signal.reason });
}
