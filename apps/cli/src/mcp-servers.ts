import type { ShammahConfig } from '@shammah/config';
import type { Logger } from '@shammah/provider';
import type { AnyTool, McpManager } from '@shammah/tools';

/** What {@link startMcpServers} needs. */
export interface McpServersOptions {
  config: ShammahConfig;
  /** Where stdio servers run: the project directory. */
  cwd: string;
  /**
   * The session's tool list, shared with the conversation and the backend: the servers' tools are
   * put into it (and taken out) as they connect, fail or restart, so the next turn offers them.
   */
  tools: AnyTool[];
  logger: Logger;
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void;
  onChange?: () => void;
}

const MCP_PREFIX = 'mcp__';

/**
 * Starts the MCP servers of config.toml's `[mcp_servers]` in the background and keeps their tools
 * (`mcp__<server>__<tool>`) in the session's tool list while they are connected. A server that fails
 * or crashes is reported once and left to the manager's restarts; it never stops the session.
 * Returns undefined when no server is configured.
 */
export async function startMcpServers(options: McpServersOptions): Promise<McpManager | undefined> {
  if (Object.keys(options.config.mcp_servers).length === 0) return undefined;
  const { createMcpManager } = await import('@shammah/tools');
  const lastState = new Map<string, string>();
  const manager = createMcpManager({
    servers: options.config.mcp_servers,
    cwd: options.cwd,
    logger: options.logger,
    onStatusChange: (status) => {
      // Replaced in place: the conversation and the backend hold this very array.
      const tools = options.tools;
      for (let index = tools.length - 1; index >= 0; index--) {
        if (tools[index]!.name.startsWith(MCP_PREFIX)) tools.splice(index, 1);
      }
      tools.push(...manager.tools());
      const previous = lastState.get(status.name);
      const broken = status.state === 'failed' || (status.state === 'disabled' && previous !== undefined);
      if (broken && previous !== status.state) {
        options.onNotice?.(
          `MCP server ${status.name} ${status.state}: ${status.error ?? 'no reason given'} (/mcp shows it).`,
          'warn',
        );
      }
      lastState.set(status.name, status.state);
      options.onChange?.();
    },
  });
  void manager.start();
  return manager;
}
