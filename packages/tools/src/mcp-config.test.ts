import { loadConfig, parseConfig, saveConfig } from '@shammah/config';
import { describe, expect, it } from 'vitest';
import {
  addMcpServer,
  createMcpServerEntry,
  listMcpServers,
  removeMcpServer,
  resolveMcpTransport,
  setMcpServerEnabled,
} from './mcp-config.js';
import { McpConfigError } from './mcp-errors.js';
import { tempDirectory } from './test-support/temp-project.js';

describe('MCP config helpers for shammah mcp add | list | rm', () => {
  it('adds stdio and HTTP servers, saves them to config.toml and reads them back', async () => {
    const home = await tempDirectory();
    const path = `${home}/config.toml`;
    let config = await loadConfig({ path });
    config = addMcpServer(
      config,
      'filesystem',
      createMcpServerEntry('filesystem', {
        commandOrUrl: 'npx',
        args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me/my src'],
        env: ['LOG_LEVEL=debug'],
      }),
    );
    config = addMcpServer(
      config,
      'docs',
      createMcpServerEntry('docs', {
        commandOrUrl: 'https://example.com/mcp',
        headers: ['Authorization: Bearer abc:def'],
        timeoutSeconds: 60,
      }),
    );
    await saveConfig(config, { path });
    const reloaded = await loadConfig({ path });
    expect(reloaded.mcp_servers.filesystem).toEqual({
      transport: 'stdio',
      command: 'npx',
      args: ['-y', '@modelcontextprotocol/server-filesystem', '/home/me/my src'],
      env: { LOG_LEVEL: 'debug' },
      enabled: true,
    });
    expect(reloaded.mcp_servers.docs).toEqual({
      transport: 'http',
      url: 'https://example.com/mcp',
      args: [],
      env: {},
      headers: { Authorization: 'Bearer abc:def' },
      enabled: true,
      timeout_seconds: 60,
    });
    expect(listMcpServers(reloaded)).toEqual([
      expect.objectContaining({
        name: 'docs',
        transport: 'streamable-http',
        target: 'https://example.com/mcp',
        enabled: true,
      }),
      expect.objectContaining({
        name: 'filesystem',
        transport: 'stdio',
        target: "npx -y @modelcontextprotocol/server-filesystem '/home/me/my src'",
      }),
    ]);

    const disabled = setMcpServerEnabled(reloaded, 'docs', false);
    expect(disabled.mcp_servers.docs?.enabled).toBe(false);
    expect(reloaded.mcp_servers.docs?.enabled).toBe(true);
    const removed = removeMcpServer(disabled, 'filesystem');
    expect(Object.keys(removed.mcp_servers)).toEqual(['docs']);
  });

  it('reads the original Shammah’s [mcp_servers] tables, and a url without transport as HTTP', () => {
    const config = parseConfig(
      [
        '[mcp_servers.filesystem]',
        'transport = "stdio"',
        'command = "npx"',
        'args = ["-y", "@modelcontextprotocol/server-filesystem", "/home/me/src"]',
        'env = {}',
        'enabled = true',
        '[mcp_servers.legacy]',
        'transport = "sse"',
        'url = "http://127.0.0.1:9000/sse"',
        '[mcp_servers.remote]',
        'url = "https://mcp.example.com/mcp"',
      ].join('\n'),
    );
    expect(listMcpServers(config).map((server) => [server.name, server.transport])).toEqual([
      ['filesystem', 'stdio'],
      ['legacy', 'sse'],
      ['remote', 'streamable-http'],
    ]);
    expect(resolveMcpTransport({ transport: 'streamable-http', url: 'http://x' })).toBe('streamable-http');
  });

  it('refuses bad names, duplicates, unknown servers and incomplete entries with messages that say what to do', async () => {
    const config = await loadConfig({ path: `${await tempDirectory()}/config.toml` });
    const entry = createMcpServerEntry('fs', { commandOrUrl: 'npx', args: ['server'] });
    const withFs = addMcpServer(config, 'fs', entry);

    expect(() => addMcpServer(withFs, 'fs', entry)).toThrow(/already configured.*shammah mcp rm fs/);
    expect(
      addMcpServer(withFs, 'fs', { ...entry, args: ['other'] }, { replace: true }).mcp_servers.fs?.args,
    ).toEqual(['other']);
    expect(() => removeMcpServer(withFs, 'nope')).toThrow(/No MCP server named "nope".*Configured: fs/);
    expect(() => setMcpServerEnabled(config, 'fs', false)).toThrow(/None are; add one with shammah mcp add/);
    expect(() => createMcpServerEntry('bad name', { commandOrUrl: 'npx' })).toThrow(McpConfigError);
    expect(() => createMcpServerEntry('a__b', { commandOrUrl: 'npx' })).toThrow(/no "__"/);
    expect(() => createMcpServerEntry('x', { commandOrUrl: '' })).toThrow(/has no command/);
    expect(() => createMcpServerEntry('x', { transport: 'sse', commandOrUrl: 'ftp://host' })).toThrow(
      /not an http:\/\/ or https:\/\/ URL/,
    );
    expect(() => createMcpServerEntry('x', { commandOrUrl: 'npx', env: ['NOVALUE'] })).toThrow(/KEY=value/);
    expect(() => createMcpServerEntry('x', { commandOrUrl: 'https://h', headers: ['nocolon'] })).toThrow(
      /"Name: value"/,
    );
    expect(() => createMcpServerEntry('x', { commandOrUrl: 'npx', timeoutSeconds: 0 })).toThrow(/positive/);
    try {
      removeMcpServer(config, 'gone');
    } catch (error) {
      expect(error).toMatchObject({ name: 'McpConfigError', code: 'mcp_server_not_found', server: 'gone' });
    }
  });
});
