import { ShammahError, type ShammahErrorOptions } from '@shammah/provider';
import { ToolError } from './errors.js';

/**
 * Calling an MCP server's tool failed for a reason on the server's side: it timed out, it crashed or
 * is restarting, it is disabled, or the connection broke. The tool loop turns it into an error result
 * the model reads; the session goes on.
 */
export class McpToolCallError extends ToolError {
  override readonly name = 'McpToolCallError';
  readonly server: string;
  readonly toolName: string;

  constructor(
    code: 'mcp_timeout' | 'mcp_server_unavailable' | 'mcp_connection_lost' | 'mcp_call_failed',
    server: string,
    toolName: string,
    message: string,
    options: ShammahErrorOptions = {},
  ) {
    super(code, message, options);
    this.server = server;
    this.toolName = toolName;
  }
}

/**
 * An `[mcp_servers.NAME]` entry cannot be used as written (no command for stdio, a bad URL, a bad
 * name), or `mcp add` / `mcp rm` named a server that already exists or does not.
 */
export class McpConfigError extends ShammahError {
  override readonly name = 'McpConfigError';
  readonly server: string;

  constructor(
    code: 'mcp_invalid_config' | 'mcp_server_exists' | 'mcp_server_not_found',
    server: string,
    message: string,
    options: ShammahErrorOptions = {},
  ) {
    super(code, message, options);
    this.server = server;
  }
}
