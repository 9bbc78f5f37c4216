import { type Logger, ShammahError, silentLogger, type ToolCall } from '@shammah/provider';
import { ToolAbortedError } from './errors.js';
import type { PermissionDecision, PermissionPolicy, PermissionPrompt } from './permission-policy.js';
import type { ToolContext } from './tool.js';
import type { ToolSet } from './tool-set.js';
import { truncateText } from './truncate.js';

/** Text results longer than this are truncated when the tool sets no limit of its own. */
export const DEFAULT_MAX_OUTPUT_CHARS = 25_000;

/** Options of {@link runToolCall}. */
export interface RunToolCallOptions {
  tools: ToolSet;
  /** Checks the call first. Leave it out only when the host has already decided. */
  permissions?: PermissionPolicy;
  context: ToolContext;
  /** The user is being asked about this call. */
  onPermissionAsked?: (prompt: PermissionPrompt) => void;
  /** The policy (or the user) decided about this call. */
  onPermissionDecided?: (decision: PermissionDecision) => void;
  logger?: Logger;
}

/** How one tool call ended: text for the model, data for the UI. */
export interface ToolCallOutcome {
  toolCallId: string;
  /** The tool's own name when it was found, else the name the model used. */
  toolName: string;
  text: string;
  data?: unknown;
  isError: boolean;
  /** The text was truncated centrally. */
  truncated: boolean;
  /** A stable code when the call failed (`tool_unknown`, `permission_denied`, `edit_no_match`, …). */
  errorCode?: string;
  permission?: PermissionDecision;
  durationMs: number;
  /** The tool asked to end the loop after this turn (see `ToolResult.endLoop`). */
  endLoop?: 'plan-approved';
}

/**
 * Runs one tool call the whole way: finds the tool (any name a model uses), validates the input,
 * checks permissions (asking the user when the rules say so), executes, and truncates the text
 * centrally with a marker. Never throws for the call's own failures: they come back as an error
 * outcome whose text tells the model what went wrong and what to do.
 *
 * @example
 * ```ts
 * const outcome = await runToolCall({ id: 'call_1', name: 'read', input: { file_path: 'README.md' } },
 *   { tools, permissions, context: { cwd: '/repo', signal } });
 * ```
 */
export async function runToolCall(call: ToolCall, options: RunToolCallOptions): Promise<ToolCallOutcome> {
  const logger = (options.logger ?? options.context.logger ?? silentLogger).child({ module: 'tools' });
  const started = Date.now();
  const base = { toolCallId: call.id, toolName: call.name };
  const failure = (error: unknown, extra: Partial<ToolCallOutcome> = {}): ToolCallOutcome => {
    // Our errors carry lower_snake codes and messages written for the model; Node's (ENOENT, …) do not.
    const ours = ShammahError.is(error) && /^[a-z][a-z0-9_]*$/.test(error.code);
    const code = ours ? (error as ShammahError).code : 'tool_failed';
    const message = ours
      ? (error as Error).message
      : `${extra.toolName ?? call.name} failed: ${(error as Error)?.message ?? String(error)}`;
    if (!ours) logger.warn({ err: error, tool: call.name }, 'tool failed unexpectedly');
    return {
      ...base,
      ...extra,
      text: message,
      isError: true,
      truncated: false,
      errorCode: code,
      durationMs: Date.now() - started,
    };
  };

  let tool: ReturnType<ToolSet['resolve']>;
  let input: unknown;
  try {
    tool = options.tools.resolve(call.name);
    input = options.tools.parseInput(tool, call.input);
  } catch (error) {
    return failure(error);
  }
  const named = { toolName: tool.name };

  let permission: PermissionDecision | undefined;
  if (options.permissions) {
    try {
      permission = await options.permissions.check(
        { tool: tool.name, kind: tool.kind, target: tool.permissionTarget(input), cwd: options.context.cwd },
        options.onPermissionAsked ? { onAsk: options.onPermissionAsked } : undefined,
      );
    } catch (error) {
      return failure(error, named);
    }
    options.onPermissionDecided?.(permission);
    if (!permission.allowed) {
      return {
        ...base,
        ...named,
        text:
          `Permission denied: ${tool.name} was not allowed (${permission.reason}). ` +
          'Do not retry the same call; choose another approach or ask the user.',
        isError: true,
        truncated: false,
        errorCode: 'permission_denied',
        permission,
        durationMs: Date.now() - started,
      };
    }
  }

  try {
    options.context.signal.throwIfAborted();
    const result = await tool.execute(input, options.context);
    const shortened = truncateText(result.text, {
      maxChars: tool.maxOutputChars ?? DEFAULT_MAX_OUTPUT_CHARS,
      mode: tool.truncation ?? 'head',
    });
    logger.debug(
      { tool: tool.name, isError: result.isError ?? false, chars: result.text.length },
      'tool ran',
    );
    return {
      ...base,
      ...named,
      text: shortened.text,
      ...(result.data !== undefined ? { data: result.data } : {}),
      isError: result.isError ?? false,
      truncated: shortened.truncated,
      ...(permission ? { permission } : {}),
      ...(result.endLoop && !result.isError ? { endLoop: result.endLoop } : {}),
      durationMs: Date.now() - started,
    };
  } catch (error) {
    if (options.context.signal.aborted && !(error instanceof ToolAbortedError)) {
      return failure(new ToolAbortedError(tool.name, { cause: error }), named);
    }
    return failure(error, { ...named, ...(permission ? { permission } : {}) });
  }
}
