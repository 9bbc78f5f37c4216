import { createHash } from 'node:crypto';
import type { CallToolResult, Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js';
import type { JsonSchema } from '@shammah/provider';
import { z } from 'zod';
import { defineTool, type Tool, type ToolContext } from './tool.js';

/** Chat APIs accept tool names of at most 64 characters from `[A-Za-z0-9_-]`. */
const MAX_TOOL_NAME = 64;
/** Some servers describe their tools at length; a local model's context is small. */
const MAX_DESCRIPTION_CHARS = 2048;

/** What an MCP tool returns to the UI beside its text. */
export interface McpToolData {
  server: string;
  /** The tool's name on the server. */
  tool: string;
  /** The server's result as it came. */
  result: CallToolResult;
}

function sanitize(part: string): string {
  return part.replace(/[^A-Za-z0-9_-]/g, '_');
}

/**
 * The name the model calls an MCP tool by, as Claude Code names them: `mcp__<server>__<tool>`, with
 * characters chat APIs refuse replaced by `_`, shortened with a hash suffix past 64 characters.
 *
 * @example
 * ```ts
 * mcpToolName('github', 'create_issue'); // 'mcp__github__create_issue'
 * ```
 */
export function mcpToolName(server: string, tool: string): string {
  const name = `mcp__${sanitize(server)}__${sanitize(tool)}`;
  if (name.length <= MAX_TOOL_NAME) return name;
  const hash = createHash('sha256').update(`${server}\0${tool}`).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_TOOL_NAME - hash.length - 1)}_${hash}`;
}

function byteSize(base64: string): number {
  return Math.floor((base64.length * 3) / 4);
}

/**
 * The text a model reads for an MCP tool result: text parts as they are, embedded text resources
 * with their URI, and a short note for images, audio and binary resources (which the tool loop's
 * text results cannot carry). Structured content stands in when there is no text.
 */
export function mcpResultText(result: CallToolResult): string {
  const parts: string[] = [];
  for (const item of result.content ?? []) {
    switch (item.type) {
      case 'text':
        parts.push(item.text);
        break;
      case 'image':
      case 'audio':
        parts.push(`[${item.type} ${item.mimeType}, ${byteSize(item.data)} bytes, not shown]`);
        break;
      case 'resource': {
        const resource = item.resource;
        parts.push(
          'text' in resource && typeof resource.text === 'string'
            ? `[resource ${resource.uri}]\n${resource.text}`
            : `[binary resource ${resource.uri}${resource.mimeType ? ` (${resource.mimeType})` : ''}, not shown]`,
        );
        break;
      }
      case 'resource_link':
        parts.push(`[resource ${item.name}: ${item.uri}]`);
        break;
      default:
        parts.push(`[${(item as { type: string }).type} content, not shown]`);
    }
  }
  if (parts.length === 0 && result.structuredContent !== undefined) {
    parts.push(JSON.stringify(result.structuredContent, null, 2));
  }
  return parts.length > 0 ? parts.join('\n') : '(the tool returned nothing)';
}

function describeInput(input: Record<string, unknown>): string {
  const text = JSON.stringify(input);
  return text.length > 300 ? `${text.slice(0, 299)}…` : text;
}

/** Options of {@link createMcpTool}. */
export interface McpToolOptions {
  /** The configured server name (`[mcp_servers.NAME]`). */
  server: string;
  /** The tool as the server listed it. */
  definition: McpToolDefinition;
  /** The name the model calls it by; defaults to {@link mcpToolName}. */
  name?: string;
  /** Runs the call on the server; throws a `ToolError` when the server cannot answer. */
  call(input: Record<string, unknown>, context: ToolContext): Promise<CallToolResult>;
}

/**
 * Wraps a tool an MCP server listed as one of ours, so it goes through the same permission rules,
 * truncation and loop as the built-in tools. Its kind is `read` when the server marks it read-only
 * (`annotations.readOnlyHint`) and `execute` otherwise, so by default it asks before running.
 * Its input schema is the server's JSON Schema; the server validates arguments.
 */
export function createMcpTool(options: McpToolOptions): Tool<Record<string, unknown>, McpToolData> {
  const { definition, server } = options;
  const readOnly = definition.annotations?.readOnlyHint === true;
  const title = definition.annotations?.title ?? definition.title;
  let description = (definition.description ?? title ?? `The ${definition.name} tool.`).trim();
  if (description.length > MAX_DESCRIPTION_CHARS)
    description = `${description.slice(0, MAX_DESCRIPTION_CHARS - 1)}…`;
  return defineTool({
    name: options.name ?? mcpToolName(server, definition.name),
    description: `${description} (MCP server "${server}")`,
    inputSchema: z.record(z.string(), z.unknown()),
    inputJsonSchema: definition.inputSchema as JsonSchema,
    kind: readOnly ? 'read' : 'execute',
    permissionTarget: (input) => ({ type: 'none', detail: describeInput(input) }),
    async execute(input, context) {
      const result = await options.call(input, context);
      return {
        text: mcpResultText(result),
        data: { server, tool: definition.name, result },
        ...(result.isError ? { isError: true } : {}),
      };
    },
  });
}
