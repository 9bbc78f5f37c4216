import type { JsonSchema, Logger } from '@shammah/provider';
import type { z } from 'zod';
import type { TruncationMode } from './truncate.js';

/**
 * What a tool does to the world, which sets its default permission: reads inside the project are
 * allowed, everything else asks first.
 */
export type ToolKind = 'read' | 'write' | 'execute' | 'network' | 'session';

/** What a permission rule's pattern is matched against for one call. */
export type PermissionTarget =
  | { type: 'path'; path: string }
  | { type: 'command'; command: string }
  | { type: 'url'; url: string }
  | {
      type: 'none';
      /** What the user is shown when asked (an MCP tool's arguments); no rule pattern matches it. */
      detail?: string;
    };

/** A chunk of a tool's live output (Bash streams its stdout and stderr). */
export interface ToolOutputChunk {
  stream: 'stdout' | 'stderr';
  text: string;
}

/** What the host asks of a restart; it decides what restarting means. */
export interface RestartRequest {
  reason: string;
}

/** What a tool gets from its host for one call. */
export interface ToolContext {
  /** Relative paths resolve against it, and Bash runs in it. */
  cwd: string;
  /** Cancels the call: tools stop promptly and Bash kills its process group. */
  signal: AbortSignal;
  logger?: Logger;
  /** Receives live output while the tool runs. */
  onOutput?: (chunk: ToolOutputChunk) => void;
  /** Restarts the host application; the Restart tool calls it. Without it, Restart reports an error. */
  requestRestart?: (request: RestartRequest) => Promise<void> | void;
}

/** What a tool returns: text for the model and structured data for the UI. */
export interface ToolResult<Data = unknown> {
  text: string;
  data?: Data;
  /** The call failed; the text says why, for the model. */
  isError?: boolean;
  /**
   * Ends the tool loop after this turn's calls, with this reason: PresentPlan returns
   * `plan-approved` so the host can leave plan mode and run the plan with every tool.
   */
  endLoop?: 'plan-approved';
}

/**
 * A tool, defined once: its name and description for the model, a zod schema for its input, and
 * `execute`.
 */
export interface Tool<Input = unknown, Data = unknown> {
  /** The name the model calls it by, e.g. `Read`. */
  readonly name: string;
  /** Other names models use for it (the original Shammah's `read`, `web_fetch`, …); matched case-insensitively. */
  readonly aliases?: readonly string[];
  /** Written for the model: what the tool does and when to use it. */
  readonly description: string;
  readonly inputSchema: z.ZodType<Input>;
  /**
   * The input's JSON Schema, for tools whose schema arrives as JSON Schema (MCP servers' tools); when
   * absent it is derived from `inputSchema`.
   */
  readonly inputJsonSchema?: JsonSchema;
  readonly kind: ToolKind;
  /** Input keys small models use by mistake, mapped to the real ones (`path` → `file_path`). */
  readonly inputAliases?: Readonly<Record<string, string>>;
  /** Most characters of text the model gets back; longer results are truncated centrally. */
  readonly maxOutputChars?: number;
  /** How long results are shortened; `head-and-tail` for output whose end matters. */
  readonly truncation?: TruncationMode;
  /** What permission rules are matched against for this input. */
  permissionTarget(input: Input): PermissionTarget;
  /** Runs the tool. Throw a {@link ToolError} for a failure the model should read about. */
  execute(input: Input, context: ToolContext): Promise<ToolResult<Data>>;
}

/** Any tool, whatever its input and data types. */
// biome-ignore lint/suspicious/noExplicitAny: a heterogeneous list of tools needs an erased input type.
export type AnyTool = Tool<any, unknown>;

/**
 * Defines a tool with its input type inferred from the schema.
 *
 * @example
 * ```ts
 * const echo = defineTool({
 *   name: 'Echo',
 *   description: 'Repeats the text back.',
 *   inputSchema: z.object({ text: z.string() }),
 *   kind: 'read',
 *   permissionTarget: () => ({ type: 'none' }),
 *   async execute({ text }) { return { text }; },
 * });
 * ```
 */
export function defineTool<Schema extends z.ZodType, Data = unknown>(
  tool: Omit<Tool<z.output<Schema>, Data>, 'inputSchema'> & { inputSchema: Schema },
): Tool<z.output<Schema>, Data> {
  return tool as Tool<z.output<Schema>, Data>;
}
