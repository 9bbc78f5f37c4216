import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type Tool as McpToolDefinition,
} from '@modelcontextprotocol/sdk/types.js';
import type { McpServerEntry } from '@shammah/config';
import type { Logger } from '@shammah/provider';
import { type McpTransportKind, resolveMcpTransport, validateMcpServerEntry } from './mcp-config.js';
import { McpToolCallError } from './mcp-errors.js';

/** Where a configured MCP server stands. */
export type McpServerState = 'starting' | 'ready' | 'failed' | 'disabled';

/** Settings one connection shares with the manager. */
export interface McpConnectionSettings {
  cwd: string | undefined;
  clientInfo: { name: string; version: string };
  defaultTimeoutMs: number;
  startupTimeoutMs: number;
  maxRestarts: number;
  restartBackoffMs: { initial: number; max: number };
  healthyAfterMs: number;
  fetch: typeof fetch | undefined;
  logger: Logger;
  onChange(): void;
}

const STDERR_TAIL_CHARS = 2000;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** One MCP server: connects, lists its tools, calls them, and restarts it after a crash. */
export class McpServerConnection {
  readonly name: string;
  readonly entry: McpServerEntry;
  readonly transportKind: McpTransportKind;
  state: McpServerState = 'starting';
  error: string | undefined;
  tools: McpToolDefinition[] = [];
  /** Restarts after crashes since the server was last healthy. */
  restarts = 0;
  nextRestartAt: number | undefined;
  serverInfo: { name: string; version: string } | undefined;
  instructions: string | undefined;
  pid: number | undefined;

  private readonly settings: McpConnectionSettings;
  private readonly logger: Logger;
  private client: Client | undefined;
  private generation = 0;
  private closed = false;
  private stderrTail = '';
  private restartTimer: NodeJS.Timeout | undefined;
  private healthyTimer: NodeJS.Timeout | undefined;
  private connecting: Promise<void> | undefined;

  constructor(name: string, entry: McpServerEntry, settings: McpConnectionSettings) {
    this.name = name;
    this.entry = entry;
    this.settings = settings;
    this.transportKind = resolveMcpTransport(entry);
    this.logger = settings.logger.child({ server: name });
    if (!entry.enabled) {
      this.state = 'disabled';
      this.error = `disabled in config.toml (enabled = false); enable it to use its tools`;
    }
  }

  /** Milliseconds a tool call may take: the server's `timeout_seconds`, else the default (30 s). */
  get timeoutMs(): number {
    return this.entry.timeout_seconds !== undefined
      ? this.entry.timeout_seconds * 1000
      : this.settings.defaultTimeoutMs;
  }

  /** Connects (or reconnects); settles when the server is ready or has failed. Never throws. */
  start(): Promise<void> {
    if (this.closed || (this.state === 'ready' && this.client)) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  /** A manual reconnect (`/mcp`): forgets earlier crashes and starts even a server disabled by them. */
  async restart(): Promise<void> {
    if (!this.entry.enabled || this.closed) return;
    clearTimeout(this.restartTimer);
    this.nextRestartAt = undefined;
    this.restarts = 0;
    await this.connecting;
    await this.disconnect();
    await this.start();
  }

  /** Stops the server for good (kills a stdio server's process). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.restartTimer);
    clearTimeout(this.healthyTimer);
    await this.connecting?.catch(() => undefined);
    await this.disconnect();
  }

  private createTransport(): Transport {
    const headers = this.entry.headers ?? {};
    if (this.transportKind === 'stdio') {
      const transport = new StdioClientTransport({
        command: this.entry.command!,
        args: this.entry.args,
        env: this.entry.env,
        stderr: 'pipe',
        ...(this.settings.cwd ? { cwd: this.settings.cwd } : {}),
      });
      this.stderrTail = '';
      transport.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString('utf8');
        this.stderrTail = (this.stderrTail + text).slice(-STDERR_TAIL_CHARS);
        this.logger.debug({ stderr: text.trimEnd() }, 'server stderr');
      });
      return transport;
    }
    const url = new URL(this.entry.url!);
    const common = {
      requestInit: { headers },
      ...(this.settings.fetch ? { fetch: this.settings.fetch } : {}),
    };
    return this.transportKind === 'sse'
      ? new SSEClientTransport(url, common)
      : new StreamableHTTPClientTransport(url, common);
  }

  private lastStderrLines(): string {
    const lines = this.stderrTail.trim().split('\n').slice(-5).join('\n').trim();
    return lines ? `; its last output: ${lines}` : '';
  }

  private describeStartFailure(error: unknown): string {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'ENOENT' && this.transportKind === 'stdio') {
      return `could not start "${this.entry.command}": command not found. Install it or fix command in [mcp_servers.${this.name}]`;
    }
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return `did not finish starting within ${seconds(this.settings.startupTimeoutMs)}${this.lastStderrLines()}`;
    }
    if (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) {
      return `exited while starting${this.lastStderrLines()}`;
    }
    const message = (error as Error)?.message ?? String(error);
    const status = (error as { code?: unknown })?.code;
    if (this.transportKind !== 'stdio' && typeof status === 'number' && status >= 400 && status < 600) {
      const hint =
        status === 401 || status === 403
          ? `; check the credentials in headers of [mcp_servers.${this.name}]`
          : status === 404 || status === 405
            ? `; check url of [mcp_servers.${this.name}]${this.transportKind === 'streamable-http' ? ', or try transport = "sse" for an older server' : ''}`
            : '';
      return `the server answered HTTP ${status}: ${message}${hint}`;
    }
    return `could not connect: ${message}${this.lastStderrLines()}`;
  }

  private async connect(): Promise<void> {
    if (!this.entry.enabled) return;
    const generation = ++this.generation;
    this.state = 'starting';
    this.error = undefined;
    this.nextRestartAt = undefined;
    this.settings.onChange();
    let client: Client | undefined;
    try {
      validateMcpServerEntry(this.name, this.entry);
      const transport = this.createTransport();
      client = new Client(this.settings.clientInfo, {
        capabilities: {},
        listChanged: {
          tools: {
            onChanged: (error, tools) => {
              if (error || !tools || generation !== this.generation) return;
              this.tools = tools;
              this.logger.info({ tools: tools.length }, 'the server changed its tools');
              this.settings.onChange();
            },
          },
        },
      });
      this.client = client;
      await client.connect(transport, { timeout: this.settings.startupTimeoutMs });
      const tools: McpToolDefinition[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, {
          timeout: this.settings.startupTimeoutMs,
        });
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      if (generation !== this.generation || this.closed) {
        await client.close().catch(() => undefined);
        return;
      }
      this.tools = tools;
      this.serverInfo = client.getServerVersion();
      this.instructions = client.getInstructions();
      this.pid = transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
      client.onclose = () => {
        if (generation === this.generation && !this.closed) this.crashed('the connection closed');
      };
      client.onerror = (error) => this.logger.debug({ err: error }, 'transport error');
      this.state = 'ready';
      this.logger.info(
        { transport: this.transportKind, tools: tools.length, pid: this.pid, restarts: this.restarts },
        'MCP server ready',
      );
      clearTimeout(this.healthyTimer);
      this.healthyTimer = setTimeout(() => {
        if (generation === this.generation && this.state === 'ready') this.restarts = 0;
      }, this.settings.healthyAfterMs);
      this.healthyTimer.unref();
      this.settings.onChange();
    } catch (error) {
      await client?.close().catch(() => undefined);
      if (generation !== this.generation || this.closed) return;
      this.client = undefined;
      this.tools = [];
      const reason = this.describeStartFailure(error);
      this.logger.warn({ err: error, transport: this.transportKind }, `MCP server failed: ${reason}`);
      if (this.restarts > 0) {
        // A restart after a crash that fails counts as another crash.
        this.scheduleRestart(reason);
      } else {
        this.state = 'failed';
        this.error = reason;
        this.settings.onChange();
      }
    }
  }

  private async disconnect(): Promise<void> {
    this.generation++;
    clearTimeout(this.healthyTimer);
    const client = this.client;
    this.client = undefined;
    this.tools = [];
    this.pid = undefined;
    if (!client) return;
    const transport = client.transport;
    if (transport instanceof StreamableHTTPClientTransport) {
      await transport.terminateSession().catch(() => undefined);
    }
    await client.close().catch(() => undefined);
  }

  /** The server went away while it was ready: report it and restart it, or give up. */
  private crashed(cause: string): void {
    const exitNote = this.transportKind === 'stdio' ? 'its process exited' : cause;
    const reason = `${exitNote}${this.lastStderrLines()}`;
    this.logger.warn({ reason, restarts: this.restarts }, 'MCP server crashed');
    this.generation++;
    const client = this.client;
    this.client = undefined;
    this.tools = [];
    this.pid = undefined;
    clearTimeout(this.healthyTimer);
    client?.close().catch(() => undefined);
    this.scheduleRestart(reason);
  }

  private scheduleRestart(reason: string): void {
    if (this.closed) return;
    if (this.restarts >= this.settings.maxRestarts) {
      this.state = 'disabled';
      this.error =
        `stopped after ${this.restarts + 1} failures in a row (last: ${reason}); ` +
        `fix the server, then reconnect it with /mcp`;
      this.nextRestartAt = undefined;
      this.logger.error({ reason }, 'MCP server disabled after repeated crashes');
      this.settings.onChange();
      return;
    }
    const { initial, max } = this.settings.restartBackoffMs;
    const delay = Math.min(max, initial * 2 ** this.restarts);
    this.restarts++;
    this.state = 'failed';
    this.error = `${reason}; restarting in ${seconds(delay)} (attempt ${this.restarts} of ${this.settings.maxRestarts})`;
    this.nextRestartAt = Date.now() + delay;
    this.settings.onChange();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      void this.start();
    }, delay);
    this.restartTimer.unref();
  }

  private unavailable(toolName: string): McpToolCallError {
    const why =
      this.state === 'starting'
        ? 'is still starting; call the tool again in a moment'
        : this.state === 'failed' && this.nextRestartAt !== undefined
          ? `is restarting (${this.error}); call the tool again in a few seconds`
          : `is not available (${this.error ?? this.state}); do without this tool`;
    return new McpToolCallError(
      'mcp_server_unavailable',
      this.name,
      toolName,
      `The MCP server "${this.name}" ${why}.`,
    );
  }

  /** Calls a tool on the server with the server's timeout; throws {@link McpToolCallError} when the server cannot answer. */
  async callTool(
    toolName: string,
    input: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<CallToolResult> {
    const client = this.client;
    if (this.state !== 'ready' || !client) throw this.unavailable(toolName);
    const generation = this.generation;
    const timeoutMs = this.timeoutMs;
    try {
      return (await client.callTool({ name: toolName, arguments: input }, undefined, {
        signal,
        timeout: timeoutMs,
      })) as CallToolResult;
    } catch (error) {
      if (signal.aborted) throw error;
      if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
        this.logger.warn({ tool: toolName, timeoutMs }, 'MCP tool call timed out');
        throw new McpToolCallError(
          'mcp_timeout',
          this.name,
          toolName,
          `${toolName} on the MCP server "${this.name}" did not answer within ${seconds(timeoutMs)} and was cancelled. ` +
            'It may be stuck or the request too large: try a smaller request or another approach.',
          { cause: error },
        );
      }
      const lost =
        generation !== this.generation ||
        (error instanceof McpError && error.code === ErrorCode.ConnectionClosed) ||
        !(error instanceof McpError);
      if (lost) {
        // HTTP servers have no process to watch: a failed request is how their crash shows.
        if (generation === this.generation && this.state === 'ready') this.crashed((error as Error).message);
        const next =
          (this.state as McpServerState) === 'disabled'
            ? 'It has failed too often and is now disabled; do without its tools.'
            : 'It is being restarted; you may call the tool again in a few seconds.';
        throw new McpToolCallError(
          'mcp_connection_lost',
          this.name,
          toolName,
          `The MCP server "${this.name}" stopped while running ${toolName}. ${next}`,
          { cause: error },
        );
      }
      throw new McpToolCallError(
        'mcp_call_failed',
        this.name,
        toolName,
        `${toolName} on the MCP server "${this.name}" failed: ${error.message}`,
        { cause: error },
      );
    }
  }
}
