import type { McpServerEntry, ShammahConfig } from '@shammah/config';
import { McpConfigError } from './mcp-errors.js';

/** How Shammah actually talks to a server: `http` in config.toml means streamable HTTP. */
export type McpTransportKind = 'stdio' | 'streamable-http' | 'sse';

/** What `shammah mcp add` collects from its flags, before it becomes an `[mcp_servers.NAME]` entry. */
export interface McpServerEntryOptions {
  /** `stdio` (default for a command), `http` / `streamable-http` (default for a URL), or the legacy `sse`. */
  transport?: McpServerEntry['transport'];
  /** The command for stdio, or the URL for the HTTP transports. */
  commandOrUrl?: string;
  /** The command's arguments (stdio). */
  args?: readonly string[];
  /** Environment variables for the command, as a record or `KEY=value` strings. */
  env?: Readonly<Record<string, string>> | readonly string[];
  /** HTTP headers, as a record or `Name: value` strings. */
  headers?: Readonly<Record<string, string>> | readonly string[];
  /** Seconds a tool call may take (default 30). */
  timeoutSeconds?: number;
  enabled?: boolean;
}

/** One configured server, as `shammah mcp list` shows it. */
export interface McpServerListing {
  name: string;
  entry: McpServerEntry;
  transport: McpTransportKind;
  /** The command line (stdio) or the URL. */
  target: string;
  enabled: boolean;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Checks a server name: letters, digits, `_` and `-`, starting with a letter or digit, at most 48
 * characters (it becomes part of tool names like `mcp__NAME__tool`, which chat APIs cap at 64).
 */
export function validateMcpServerName(name: string): string {
  if (!NAME.test(name) || name.includes('__')) {
    throw new McpConfigError(
      'mcp_invalid_config',
      name,
      `"${name}" cannot name an MCP server: use letters, digits, "_" and "-" (no "__"), starting with a letter ` +
        'or digit, at most 48 characters, e.g. "filesystem" or "github-issues".',
    );
  }
  return name;
}

/**
 * The transport a server entry really uses: `http` and `streamable-http` are one, and an entry with
 * a `url` but no `command` is HTTP even where `transport` was left at its `stdio` default.
 */
export function resolveMcpTransport(
  entry: Pick<McpServerEntry, 'transport' | 'command' | 'url'>,
): McpTransportKind {
  if (entry.transport === 'sse') return 'sse';
  if (entry.transport === 'http' || entry.transport === 'streamable-http') return 'streamable-http';
  if (!entry.command && entry.url) return 'streamable-http';
  return 'stdio';
}

/**
 * Checks that an entry can start: a command for stdio, an http(s) URL for the HTTP transports.
 * Throws {@link McpConfigError} saying what to write in config.toml.
 */
export function validateMcpServerEntry(name: string, entry: McpServerEntry): McpServerEntry {
  const transport = resolveMcpTransport(entry);
  if (transport === 'stdio') {
    if (!entry.command?.trim()) {
      throw new McpConfigError(
        'mcp_invalid_config',
        name,
        `[mcp_servers.${name}] has no command. Add command = "npx" (and args = [...]) for a local server, ` +
          'or transport = "http" with url = "https://..." for a remote one.',
      );
    }
    return entry;
  }
  let url: URL | undefined;
  try {
    url = new URL(entry.url ?? '');
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new McpConfigError(
      'mcp_invalid_config',
      name,
      `[mcp_servers.${name}] uses transport "${entry.transport}" but its url ${JSON.stringify(entry.url ?? '')} ` +
        'is not an http:// or https:// URL. Set url = "https://host/mcp".',
    );
  }
  return entry;
}

function pairs(
  name: string,
  what: 'env' | 'header',
  value: Readonly<Record<string, string>> | readonly string[] | undefined,
): Record<string, string> {
  if (value === undefined) return {};
  if (!Array.isArray(value)) return { ...(value as Record<string, string>) };
  const result: Record<string, string> = {};
  for (const item of value as readonly string[]) {
    const separator = what === 'env' ? item.indexOf('=') : item.indexOf(':');
    const key = separator > 0 ? item.slice(0, separator).trim() : '';
    if (!key || (what === 'env' && !ENV_NAME.test(key))) {
      throw new McpConfigError(
        'mcp_invalid_config',
        name,
        what === 'env'
          ? `Cannot read the environment variable ${JSON.stringify(item)}: write it as KEY=value, e.g. GITHUB_TOKEN=ghp_xxx.`
          : `Cannot read the header ${JSON.stringify(item)}: write it as "Name: value", e.g. "Authorization: Bearer xxx".`,
      );
    }
    result[key] = item.slice(separator + 1).trim();
  }
  return result;
}

/**
 * Builds a complete `[mcp_servers.NAME]` entry from what `shammah mcp add` collected, validated.
 * The transport defaults to `http` for an http(s) URL and to `stdio` otherwise.
 *
 * @example
 * ```ts
 * createMcpServerEntry('fs', { commandOrUrl: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'] });
 * createMcpServerEntry('docs', { commandOrUrl: 'https://example.com/mcp', headers: ['Authorization: Bearer xyz'] });
 * ```
 */
export function createMcpServerEntry(name: string, options: McpServerEntryOptions): McpServerEntry {
  validateMcpServerName(name);
  const target = options.commandOrUrl?.trim() ?? '';
  const transport = options.transport ?? (/^https?:\/\//i.test(target) ? 'http' : 'stdio');
  const isStdio = transport === 'stdio';
  if (options.timeoutSeconds !== undefined && !(options.timeoutSeconds > 0)) {
    throw new McpConfigError(
      'mcp_invalid_config',
      name,
      `The timeout ${options.timeoutSeconds} is not a positive number of seconds; leave it out for the 30 s default.`,
    );
  }
  const headers = pairs(name, 'header', options.headers);
  const entry: McpServerEntry = {
    transport,
    ...(isStdio ? { command: target } : { url: target }),
    args: isStdio ? [...(options.args ?? [])] : [],
    env: pairs(name, 'env', options.env),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    enabled: options.enabled ?? true,
    ...(options.timeoutSeconds !== undefined ? { timeout_seconds: options.timeoutSeconds } : {}),
  };
  return validateMcpServerEntry(name, entry);
}

/**
 * Returns the config with server `name` added (`shammah mcp add`). Throws {@link McpConfigError}
 * when the name is taken, unless `replace` is set.
 *
 * @example
 * ```ts
 * const next = addMcpServer(config, 'fs', createMcpServerEntry('fs', { commandOrUrl: 'npx', args: ['-y', 'server-fs', '.'] }));
 * await saveConfig(next);
 * ```
 */
export function addMcpServer(
  config: ShammahConfig,
  name: string,
  entry: McpServerEntry,
  options: { replace?: boolean } = {},
): ShammahConfig {
  validateMcpServerName(name);
  validateMcpServerEntry(name, entry);
  if (config.mcp_servers[name] && !options.replace) {
    throw new McpConfigError(
      'mcp_server_exists',
      name,
      `An MCP server named "${name}" is already configured. Remove it first (shammah mcp rm ${name}) or choose another name.`,
    );
  }
  return { ...config, mcp_servers: { ...config.mcp_servers, [name]: entry } };
}

function requireServer(config: ShammahConfig, name: string): McpServerEntry {
  const entry = config.mcp_servers[name];
  if (!entry) {
    const names = Object.keys(config.mcp_servers);
    throw new McpConfigError(
      'mcp_server_not_found',
      name,
      `No MCP server named "${name}" is configured. ` +
        (names.length > 0 ? `Configured: ${names.join(', ')}.` : 'None are; add one with shammah mcp add.'),
    );
  }
  return entry;
}

/** Returns the config without server `name` (`shammah mcp rm`); throws when there is none. */
export function removeMcpServer(config: ShammahConfig, name: string): ShammahConfig {
  requireServer(config, name);
  const { [name]: _removed, ...rest } = config.mcp_servers;
  return { ...config, mcp_servers: rest };
}

/** Returns the config with server `name` enabled or disabled (kept in config.toml either way). */
export function setMcpServerEnabled(config: ShammahConfig, name: string, enabled: boolean): ShammahConfig {
  const entry = requireServer(config, name);
  return { ...config, mcp_servers: { ...config.mcp_servers, [name]: { ...entry, enabled } } };
}

function quoteArgument(argument: string): string {
  return /^[\w@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replaceAll("'", `'\\''`)}'`;
}

/** The configured servers sorted by name, with their effective transport and target (`shammah mcp list`). */
export function listMcpServers(config: ShammahConfig): McpServerListing[] {
  return Object.entries(config.mcp_servers)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, entry]) => {
      const transport = resolveMcpTransport(entry);
      return {
        name,
        entry,
        transport,
        target:
          transport === 'stdio'
            ? [entry.command ?? '', ...entry.args].map(quoteArgument).join(' ')
            : (entry.url ?? ''),
        enabled: entry.enabled,
      };
    });
}
