import { parseArgs } from 'node:util';
import { loadConfig, type McpServerEntry, saveConfig, shammahPaths } from '@shammah/config';
import type { McpServerStatus } from '@shammah/tools';
import { UsageError } from '../cli-arguments.js';

/** `shammah mcp --help`. */
export const MCP_USAGE = `Usage:
  shammah mcp add <name> -- <command> [args…]   a server Shammah starts (stdio)
  shammah mcp add <name> --url <url>             a server over streamable HTTP (--transport sse: the legacy one)
      -e, --env KEY=value      environment for the command (repeatable)
      -H, --header "Name: value"  HTTP header, e.g. "Authorization: Bearer …" (repeatable)
      --timeout <seconds>      longest a tool call may take (default 30)
      --replace                replace a server of the same name
  shammah mcp list [--json]                      servers, whether they connect, and their tools
  shammah mcp rm <name>                          remove a server
  shammah mcp enable|disable <name>              keep a server in config.toml but (not) start it

Servers live in config.toml's [mcp_servers.<name>] tables. Their tools reach the model as
mcp__<name>__<tool>, under the same permission rules as Shammah's own tools.`;

function parse(args: readonly string[]) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        transport: { type: 'string' },
        env: { type: 'string', short: 'e', multiple: true },
        header: { type: 'string', short: 'H', multiple: true },
        timeout: { type: 'string' },
        replace: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(
      `${(error as Error).message}. Put the server's command after "--" (shammah mcp add <name> -- <command> [args…]); shammah mcp --help lists the options.`,
    );
  }
}

const STATE_WORDS: Record<McpServerStatus['state'], string> = {
  starting: 'connecting…',
  ready: 'connected',
  failed: 'failed',
  disabled: 'disabled',
};

/**
 * The servers, their states and tools, as `shammah mcp list` and `/mcp` show them. `targets` adds
 * each server's command line or URL.
 */
export function formatMcpStatus(
  statuses: readonly McpServerStatus[],
  targets: ReadonlyMap<string, string> = new Map(),
): string {
  if (statuses.length === 0) {
    return 'No MCP servers are configured. Add one with shammah mcp add <name> -- <command> [args…] (or --url <url>).';
  }
  const lines: string[] = [];
  for (const status of statuses) {
    const target = targets.get(status.name);
    const info = status.serverInfo ? ` · ${status.serverInfo.name} ${status.serverInfo.version}` : '';
    const tools =
      status.state === 'ready' ? ` · ${status.tools.length} tool${status.tools.length === 1 ? '' : 's'}` : '';
    lines.push(`${status.name}  ${STATE_WORDS[status.state]} (${status.transport}${info})${tools}`);
    if (target) lines.push(`  ${target}`);
    if (status.error) lines.push(`  ${status.error}`);
    const width = Math.min(40, Math.max(0, ...status.tools.map((tool) => tool.name.length)));
    for (const tool of status.tools) {
      const description = tool.description.split('\n')[0]!.trim();
      const short = description.length > 70 ? `${description.slice(0, 69)}…` : description;
      lines.push(`  ${tool.name.padEnd(width)}  ${short}${tool.readOnly ? ' (read-only)' : ''}`.trimEnd());
    }
  }
  return lines.join('\n');
}

/**
 * `shammah mcp`: `add` a server (stdio after `--`, or `--url` for streamable HTTP), `list` the
 * servers after connecting to each (state and tools), `rm` one, `enable` / `disable` one. Edits
 * config.toml's `[mcp_servers]` atomically.
 */
export async function runMcpCommand(
  args: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
): Promise<number> {
  const separator = args.indexOf('--');
  const before = separator === -1 ? args : args.slice(0, separator);
  const command = separator === -1 ? [] : args.slice(separator + 1);
  const { values, positionals } = parse(before);
  const [action = 'list', name, ...extra] = positionals;
  if (values.help || action === 'help') {
    out.write(`${MCP_USAGE}\n`);
    return 0;
  }
  const tools = await import('@shammah/tools');
  const path = shammahPaths().config;
  switch (action) {
    case 'add': {
      if (!name)
        throw new UsageError(
          'Usage: shammah mcp add <name> -- <command> [args…], or shammah mcp add <name> --url <url>',
        );
      const commandLine = command.length > 0 ? command : extra;
      if (values.url && commandLine.length > 0) {
        throw new UsageError(`Give ${name} either a command (after --) or --url, not both.`);
      }
      if (!values.url && commandLine.length === 0) {
        throw new UsageError(
          `Say how to reach ${name}: shammah mcp add ${name} -- <command> [args…] for a server Shammah starts, or shammah mcp add ${name} --url https://host/mcp.`,
        );
      }
      const transport = values.transport as McpServerEntry['transport'] | undefined;
      if (transport && !['stdio', 'http', 'streamable-http', 'sse'].includes(transport)) {
        throw new UsageError(`--transport must be stdio, http or sse, not "${transport}".`);
      }
      const timeout = values.timeout === undefined ? undefined : Number(values.timeout);
      if (timeout !== undefined && !(Number.isFinite(timeout) && timeout > 0)) {
        throw new UsageError(`--timeout must be a positive number of seconds, not "${values.timeout}".`);
      }
      const entry = tools.createMcpServerEntry(name, {
        ...(transport ? { transport } : {}),
        commandOrUrl: values.url ?? commandLine[0]!,
        ...(values.url ? {} : { args: commandLine.slice(1) }),
        ...(values.env ? { env: values.env } : {}),
        ...(values.header ? { headers: values.header } : {}),
        ...(timeout !== undefined ? { timeoutSeconds: timeout } : {}),
      });
      const config = tools.addMcpServer(await loadConfig(), name, entry, {
        ...(values.replace ? { replace: true } : {}),
      });
      await saveConfig(config);
      const [listing] = tools.listMcpServers({ ...config, mcp_servers: { [name]: entry } });
      out.write(
        `Added MCP server ${name} (${listing?.transport}: ${listing?.target}) to ${path}.\n` +
          `shammah mcp list checks that it connects; new sessions offer its tools as mcp__${name}__<tool>.\n`,
      );
      return 0;
    }
    case 'list':
    case 'ls': {
      const config = await loadConfig();
      const listings = tools.listMcpServers(config);
      const manager = tools.createMcpManager({
        servers: Object.fromEntries(listings.map((listing) => [listing.name, listing.entry])),
        cwd: process.cwd(),
        startupTimeoutMs: 15_000,
        maxRestarts: 0,
      });
      try {
        await manager.start();
        const statuses = manager.status();
        if (values.json) {
          out.write(
            `${JSON.stringify({
              config: path,
              servers: statuses.map((status) => ({
                ...status,
                target: listings.find((listing) => listing.name === status.name)?.target,
              })),
            })}\n`,
          );
        } else {
          out.write(
            `${formatMcpStatus(statuses, new Map(listings.map((listing) => [listing.name, listing.target])))}\n`,
          );
        }
        return 0;
      } finally {
        await manager.close();
      }
    }
    case 'rm':
    case 'remove': {
      if (!name) throw new UsageError('Usage: shammah mcp rm <name>');
      await saveConfig(tools.removeMcpServer(await loadConfig(), name));
      out.write(`Removed MCP server ${name} from ${path}.\n`);
      return 0;
    }
    case 'enable':
    case 'disable': {
      if (!name) throw new UsageError(`Usage: shammah mcp ${action} <name>`);
      await saveConfig(tools.setMcpServerEnabled(await loadConfig(), name, action === 'enable'));
      out.write(`${action === 'enable' ? 'Enabled' : 'Disabled'} MCP server ${name} in ${path}.\n`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown mcp action "${action}". Use add, list, rm, enable or disable.`);
  }
}
