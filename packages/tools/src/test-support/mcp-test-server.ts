import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import type { McpServerEntry } from '@shammah/config';

/** The MCP server the tests start: `fixtures/mcp/test-server.mjs`, written with the official SDK. */
export const TEST_SERVER_SCRIPT = path.join(import.meta.dirname, '..', 'fixtures', 'mcp', 'test-server.mjs');

/** A config entry that runs the test server over stdio. */
export function stdioEntry(
  env: Record<string, string> = {},
  extra: Partial<McpServerEntry> = {},
): McpServerEntry {
  return {
    transport: 'stdio',
    command: process.execPath,
    args: [TEST_SERVER_SCRIPT, 'stdio'],
    env,
    enabled: true,
    ...extra,
  };
}

/** The test server listening on 127.0.0.1 in its own process. */
export interface RunningHttpServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts the test server over streamable HTTP (`/mcp`) or the legacy SSE transport (`/sse`). */
export async function startHttpTestServer(
  mode: 'http' | 'sse',
  env: Record<string, string> = {},
): Promise<RunningHttpServer> {
  const child = spawn(process.execPath, [TEST_SERVER_SCRIPT, mode], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the test server did not start: ${stderr}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening (\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test server exited with ${code}: ${stderr}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}/${mode === 'http' ? 'mcp' : 'sse'}`,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
