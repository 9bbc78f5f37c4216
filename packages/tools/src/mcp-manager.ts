import type { McpServerEntry } from '@shammah/config';
import { type Logger, silentLogger } from '@shammah/provider';
import type { McpTransportKind } from './mcp-config.js';
import { McpConfigError } from './mcp-errors.js';
import { McpServerConnection, type McpServerState } from './mcp-server-connection.js';
import { createMcpTool, mcpToolName } from './mcp-tool.js';
import type { AnyTool } from './tool.js';
import { normalizeToolName } from './tool-names.js';

export type { McpServerState } from './mcp-server-connection.js';

/** One tool of an MCP server, as `/mcp` lists it. */
export interface McpToolInfo {
  /** The name the model calls it by: `mcp__<server>__<tool>`. */
  name: string;
  /** Its name on the server. */
  serverToolName: string;
  description: string;
  /** The server marked it read-only: it runs like Read, without asking, unless a rule says otherwise. */
  readOnly: boolean;
}

/** Where one configured server stands, for a `/mcp` listing. */
export interface McpServerStatus {
  name: string;
  transport: McpTransportKind;
  /** `starting`, `ready` (with tools), `failed` (with the reason, maybe restarting), or `disabled`. */
  state: McpServerState;
  /** The tools it offers while ready. */
  tools: McpToolInfo[];
  /** Why it failed or is disabled, and what happens next. */
  error?: string;
  /** Restarts after crashes since it was last healthy. */
  restarts: number;
  /** When the next automatic restart happens (epoch milliseconds). */
  nextRestartAt?: number;
  /** Milliseconds one tool call may take. */
  timeoutMs: number;
  serverInfo?: { name: string; version: string };
  /** The server's instructions for the model, if it gave any. */
  instructions?: string;
  /** The stdio server's process id. */
  pid?: number;
}

/** Settings of {@link createMcpManager}. */
export interface McpManagerOptions {
  /** The `[mcp_servers.*]` tables of config.toml (`config.mcp_servers`). */
  servers: Readonly<Record<string, McpServerEntry>>;
  /** Where stdio servers run (the project directory); defaults to the current directory. */
  cwd?: string;
  /** How Shammah introduces itself to servers. */
  clientInfo?: { name: string; version: string };
  /** Milliseconds a tool call may take when the server sets no `timeout_seconds` (default 30 000, the original's). */
  defaultTimeoutMs?: number;
  /** Milliseconds a server may take to start and list its tools (default 30 000). */
  startupTimeoutMs?: number;
  /** Automatic restarts after crashes before a server is disabled (default 3). */
  maxRestarts?: number;
  /** Delay before the first restart, doubling up to `max` (default 1 s up to 30 s). */
  restartBackoffMs?: { initial: number; max: number };
  /** A server up this long counts as healthy again: its crash count starts over (default 60 s). */
  healthyAfterMs?: number;
  /** Called whenever a server's state or tools change. */
  onStatusChange?: (status: McpServerStatus) => void;
  /** For the HTTP transports; defaults to the global `fetch`. */
  fetch?: typeof fetch;
  logger?: Logger;
}

/**
 * Runs the MCP servers the user configured and offers their tools to the tool loop. Each server's
 * state is reported for `/mcp`. A server that crashes is restarted with growing delays, up to
 * `maxRestarts` times, then disabled; a call that hangs past its timeout is cancelled and comes back
 * as an error result. Neither takes the session down.
 */
export class McpManager {
  private readonly connections = new Map<string, McpServerConnection>();
  private readonly listeners = new Set<(status: McpServerStatus) => void>();
  private readonly logger: Logger;
  private readonly toolCache = new WeakMap<object, AnyTool>();

  constructor(options: McpManagerOptions) {
    this.logger = (options.logger ?? silentLogger).child({ module: 'mcp' });
    if (options.onStatusChange) this.listeners.add(options.onStatusChange);
    for (const [name, entry] of Object.entries(options.servers)) {
      const connection: McpServerConnection = new McpServerConnection(name, entry, {
        cwd: options.cwd,
        clientInfo: options.clientInfo ?? { name: 'shammah', version: '0.1.0' },
        defaultTimeoutMs: options.defaultTimeoutMs ?? 30_000,
        startupTimeoutMs: options.startupTimeoutMs ?? 30_000,
        maxRestarts: options.maxRestarts ?? 3,
        restartBackoffMs: options.restartBackoffMs ?? { initial: 1000, max: 30_000 },
        healthyAfterMs: options.healthyAfterMs ?? 60_000,
        fetch: options.fetch,
        logger: this.logger,
        onChange: () => this.emit(connection),
      });
      this.connections.set(name, connection);
    }
  }

  /**
   * Starts every enabled server at once; resolves when each is ready or has failed (never rejects).
   * Hosts may leave it running in the background and show the states as they change.
   */
  async start(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.start()));
  }

  /**
   * Reconnects one server by hand (`/mcp`), also one disabled after crashing; resolves when it settled.
   * Throws {@link McpConfigError} for a name that is not configured.
   */
  async restart(name: string): Promise<McpServerStatus> {
    const connection = this.connections.get(name);
    if (!connection) {
      throw new McpConfigError(
        'mcp_server_not_found',
        name,
        `No MCP server named "${name}" is configured. Servers: ${[...this.connections.keys()].join(', ') || 'none'}.`,
      );
    }
    await connection.restart();
    return this.statusOf(connection);
  }

  /** Every configured server's state, in config order. */
  status(): McpServerStatus[] {
    return [...this.connections.values()].map((connection) => this.statusOf(connection));
  }

  /** Subscribes to state changes; returns the function that unsubscribes. */
  subscribe(listener: (status: McpServerStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The tools of the servers that are ready now, named `mcp__<server>__<tool>`, to add to the tool
   * set of the next message. A tool whose name collides with one already taken is left out (logged).
   */
  tools(): AnyTool[] {
    const tools: AnyTool[] = [];
    const taken = new Set<string>();
    for (const connection of this.connections.values()) {
      if (connection.state !== 'ready') continue;
      for (const definition of connection.tools) {
        const name = mcpToolName(connection.name, definition.name);
        if (taken.has(normalizeToolName(name))) {
          this.logger.warn(
            { server: connection.name, tool: definition.name },
            'two MCP tools would have the same name; the second is left out',
          );
          continue;
        }
        taken.add(normalizeToolName(name));
        tools.push(this.toolFor(connection, definition, name));
      }
    }
    return tools;
  }

  private toolFor(
    connection: McpServerConnection,
    definition: McpServerConnection['tools'][number],
    name: string,
  ): AnyTool {
    // One tool object per listed definition, so repeat detection and UIs see the same tool each message.
    let tool = this.toolCache.get(definition);
    if (!tool) {
      tool = createMcpTool({
        server: connection.name,
        definition,
        name,
        call: (input, context) => connection.callTool(definition.name, input, context.signal),
      });
      this.toolCache.set(definition, tool);
    }
    return tool;
  }

  /**
   * What the ready servers told the model about using them (their `instructions`), with a header for
   * each, for the system prompt; empty when none gave any.
   */
  instructions(): string {
    return [...this.connections.values()]
      .filter((connection) => connection.state === 'ready' && connection.instructions?.trim())
      .map((connection) => `## MCP server "${connection.name}"\n${connection.instructions!.trim()}`)
      .join('\n\n');
  }

  /** Stops every server (stdio processes are ended) and stops restarting them. */
  async close(): Promise<void> {
    await Promise.all([...this.connections.values()].map((connection) => connection.close()));
    this.listeners.clear();
  }

  private statusOf(connection: McpServerConnection): McpServerStatus {
    return {
      name: connection.name,
      transport: connection.transportKind,
      state: connection.state,
      tools:
        connection.state === 'ready'
          ? connection.tools.map((definition) => ({
              name: mcpToolName(connection.name, definition.name),
              serverToolName: definition.name,
              description: definition.description ?? '',
              readOnly: definition.annotations?.readOnlyHint === true,
            }))
          : [],
      ...(connection.error ? { error: connection.error } : {}),
      restarts: connection.restarts,
      ...(connection.nextRestartAt !== undefined ? { nextRestartAt: connection.nextRestartAt } : {}),
      timeoutMs: connection.timeoutMs,
      ...(connection.serverInfo ? { serverInfo: connection.serverInfo } : {}),
      ...(connection.instructions ? { instructions: connection.instructions } : {}),
      ...(connection.pid !== undefined ? { pid: connection.pid } : {}),
    };
  }

  private emit(connection: McpServerConnection): void {
    const status = this.statusOf(connection);
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (error) {
        this.logger.warn({ err: error }, 'an MCP status listener threw');
      }
    }
  }
}

/**
 * Creates the {@link McpManager} for the configured servers. Call `start()`, then add `tools()` to
 * each message's tool set.
 *
 * @example
 * ```ts
 * const config = await loadConfig();
 * const mcp = createMcpManager({ servers: config.mcp_servers, cwd: process.cwd(), logger });
 * await mcp.start();
 * for (const server of mcp.status()) console.log(server.name, server.state, server.error ?? '');
 * const tools = new ToolSet([...createCodingTools(), ...mcp.tools()]);
 * // …run the tool loop with `tools`; at exit:
 * await mcp.close();
 * ```
 */
export function createMcpManager(options: McpManagerOptions): McpManager {
  return new McpManager(options);
}
