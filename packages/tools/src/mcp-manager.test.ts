// The MCP client against a real MCP server (fixtures/mcp/test-server.mjs, written with the official
// SDK) started by the test: over stdio as a child process, and over streamable HTTP and legacy SSE on
// 127.0.0.1.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createMcpManager,
  type McpManager,
  type McpManagerOptions,
  type McpServerStatus,
} from './mcp-manager.js';
import { createPermissionPolicy, type PermissionPrompt } from './permission-policy.js';
import { type RunningHttpServer, startHttpTestServer, stdioEntry } from './test-support/mcp-test-server.js';
import { waitUntilGone } from './test-support/processes.js';
import { ScriptedModel } from './test-support/scripted-model.js';
import { tempDirectory } from './test-support/temp-project.js';
import { runToolLoop, type ToolLoopEvent, type ToolLoopOptions } from './tool-loop.js';
import { ToolSet } from './tool-set.js';

const managers: McpManager[] = [];
const servers: RunningHttpServer[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

function manager(options: McpManagerOptions): McpManager {
  const created = createMcpManager(options);
  managers.push(created);
  return created;
}

async function collect(options: ToolLoopOptions): Promise<ToolLoopEvent[]> {
  const events: ToolLoopEvent[] = [];
  for await (const event of runToolLoop(options)) events.push(event);
  return events;
}

function results(events: ToolLoopEvent[]) {
  return events.flatMap((event) => (event.type === 'tool-result' ? [event.outcome] : []));
}

function statusOf(mcp: McpManager, name: string): McpServerStatus {
  const status = mcp.status().find((server) => server.name === name);
  if (!status) throw new Error(`no status for ${name}`);
  return status;
}

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function callOnce(mcp: McpManager, name: string, input: Record<string, unknown>, cwd: string) {
  const tools = new ToolSet(mcp.tools());
  const model = new ScriptedModel([{ toolCalls: [{ id: 'call_1', name, input }] }, { text: 'ok' }]);
  const events = await collect({
    model,
    tools,
    permissions: createPermissionPolicy({
      projectRoot: cwd,
      userRules: [{ tool: 'mcp__*', action: 'allow' }],
    }),
    cwd,
  });
  return results(events)[0]!;
}

describe('McpManager over stdio', () => {
  it('starts the server and lists its tools under mcp__<server>__<tool>, read-only ones as reads', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({ servers: { test: stdioEntry({ GREETING: 'shalom' }) }, cwd });
    const seen: string[] = [];
    mcp.subscribe((status) => seen.push(status.state));
    await mcp.start();
    await mcp.start(); // a second start leaves the running server alone

    const status = statusOf(mcp, 'test');
    expect(status.state).toBe('ready');
    expect(status.transport).toBe('stdio');
    expect(status.serverInfo).toEqual({ name: 'shammah-test-server', version: '1.2.3' });
    expect(status.timeoutMs).toBe(30_000);
    expect(status.pid).toBeGreaterThan(0);
    expect(seen).toEqual(['starting', 'ready']);
    expect(status.tools.map((tool) => tool.name).sort()).toEqual([
      'mcp__test__add',
      'mcp__test__append_note',
      'mcp__test__crash',
      'mcp__test__echo',
      'mcp__test__fail',
      'mcp__test__hang',
      'mcp__test__whoami',
    ]);
    const kinds = Object.fromEntries(mcp.tools().map((tool) => [tool.name, tool.kind]));
    expect(kinds.mcp__test__echo).toBe('read');
    expect(kinds.mcp__test__append_note).toBe('execute');
    expect(mcp.instructions()).toContain('Use echo to check that the server answers.');
    // The server's JSON Schema is what chat APIs get.
    const echo = new ToolSet(mcp.tools()).definitions().find((tool) => tool.name === 'mcp__test__echo');
    expect(echo?.inputSchema).toMatchObject({ type: 'object', properties: { text: { type: 'string' } } });
    expect(echo?.description).toContain('Repeats the text back.');

    // The configured env reaches the server, which runs in the project directory.
    const whoami = await callOnce(mcp, 'mcp__test__whoami', {}, cwd);
    expect(JSON.parse(whoami.text)).toMatchObject({ greeting: 'shalom', cwd, pid: status.pid });
  });

  it('runs MCP tools through runToolLoop with a scripted model: read-only tools without asking', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({ servers: { test: stdioEntry() }, cwd });
    await mcp.start();
    const asked: PermissionPrompt[] = [];
    const model = new ScriptedModel([
      {
        toolCalls: [
          { id: 'call_1', name: 'mcp__test__echo', input: { text: 'hello' } },
          { id: 'call_2', name: 'mcp__test__add', input: { a: '2', b: 40 } },
          { id: 'call_3', name: 'mcp__test__fail', input: {} },
        ],
      },
      { text: 'The sum is 42.' },
    ]);
    const events = await collect({
      model,
      tools: new ToolSet(mcp.tools()),
      permissions: createPermissionPolicy({
        projectRoot: cwd,
        userRules: [{ tool: 'mcp__test__fail', action: 'allow' }],
        ask: async (prompt) => {
          asked.push(prompt);
          return 'deny';
        },
      }),
      cwd,
    });
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'answered', text: 'The sum is 42.' });
    const [echo, add, fail] = results(events);
    expect(echo).toMatchObject({ toolName: 'mcp__test__echo', text: 'echo: hello', isError: false });
    // "2" written as a string is coerced by the schema's type, as for built-in tools.
    expect(add).toMatchObject({ text: '42', isError: false });
    expect(add?.data).toMatchObject({
      server: 'test',
      tool: 'add',
      result: { structuredContent: { sum: 42 } },
    });
    expect(fail).toMatchObject({ text: 'the tool failed on purpose', isError: true });
    expect(asked).toEqual([]);
    // The model's second request carries the results.
    const toolMessage = model.requests[1]!.messages.find((message) => message.role === 'tool');
    expect(JSON.stringify(toolMessage)).toContain('echo: hello');
  });

  it('asks before a tool that is not read-only, and a denial means the server never runs it', async () => {
    const cwd = await tempDirectory();
    const notes = path.join(cwd, 'notes.txt');
    const mcp = manager({ servers: { test: stdioEntry({ NOTES_FILE: notes }) }, cwd });
    await mcp.start();
    const asked: PermissionPrompt[] = [];
    const permissions = createPermissionPolicy({
      projectRoot: cwd,
      ask: async (prompt) => {
        asked.push(prompt);
        return 'deny';
      },
    });
    const run = (text: string) =>
      collect({
        model: new ScriptedModel([
          { toolCalls: [{ id: 'c', name: 'mcp__test__append_note', input: { text } }] },
          { text: 'done' },
        ]),
        tools: mcp.tools(),
        permissions,
        cwd,
      });

    const denied = results(await run('secret plan'));
    expect(denied[0]).toMatchObject({ isError: true, errorCode: 'permission_denied' });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.message).toBe('mcp__test__append_note wants to run: {"text":"secret plan"}');
    expect(asked[0]!.suggestedRules).toEqual([{ tool: 'mcp__test__append_note', action: 'allow' }]);
    await expect(readFile(notes, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    // A deny rule for the whole server wins over asking; an allow rule for it lets the call through.
    permissions.addRules([{ tool: 'mcp__test__*', action: 'deny' }]);
    expect(results(await run('again'))[0]).toMatchObject({ errorCode: 'permission_denied' });
    expect(asked).toHaveLength(1);
    permissions.addRules([{ tool: 'mcp__test', action: 'allow' }]);
    expect(results(await run('allowed now'))[0]).toMatchObject({ text: 'noted', isError: false });
    expect(await readFile(notes, 'utf8')).toBe('allowed now\n');
  });

  it('reports a crash, restarts the server with backoff, and disables it after too many crashes', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({
      servers: { test: stdioEntry() },
      cwd,
      maxRestarts: 2,
      restartBackoffMs: { initial: 50, max: 200 },
    });
    const states: string[] = [];
    mcp.subscribe((status) => states.push(status.state));
    await mcp.start();
    const firstPid = statusOf(mcp, 'test').pid!;

    const crashed = await callOnce(mcp, 'mcp__test__crash', {}, cwd);
    expect(crashed).toMatchObject({ isError: true, errorCode: 'mcp_connection_lost' });
    expect(crashed.text).toContain('stopped while running crash');
    expect(crashed.text).toContain('being restarted');
    expect(await waitUntilGone(firstPid)).toBe(true);
    const failed = statusOf(mcp, 'test');
    expect(failed.state === 'failed' || failed.state === 'starting').toBe(true);

    await waitFor(() => statusOf(mcp, 'test').state === 'ready');
    const secondPid = statusOf(mcp, 'test').pid!;
    expect(secondPid).not.toBe(firstPid);
    expect(statusOf(mcp, 'test').restarts).toBe(1);
    expect(JSON.parse((await callOnce(mcp, 'mcp__test__whoami', {}, cwd)).text).pid).toBe(secondPid);
    expect(states).toContain('failed');

    await callOnce(mcp, 'mcp__test__crash', {}, cwd);
    await waitFor(() => statusOf(mcp, 'test').state === 'ready' && statusOf(mcp, 'test').restarts === 2);
    const last = await callOnce(mcp, 'mcp__test__crash', {}, cwd);
    expect(last.text).toContain('disabled');
    const disabled = statusOf(mcp, 'test');
    expect(disabled.state).toBe('disabled');
    expect(disabled.error).toContain('after 3 failures in a row');
    expect(disabled.error).toContain('crashing on purpose');
    expect(mcp.tools()).toEqual([]);

    // A manual reconnect (/mcp) brings it back.
    const back = await mcp.restart('test');
    expect(back.state).toBe('ready');
    expect(back.restarts).toBe(0);
    await expect(mcp.restart('nope')).rejects.toMatchObject({ code: 'mcp_server_not_found' });
  });

  it('cancels a hanging call at the server timeout, returns an error result, and keeps the server usable', async () => {
    const cwd = await tempDirectory();
    const marker = path.join(cwd, 'cancelled.txt');
    const mcp = manager({
      servers: { test: stdioEntry({ CANCEL_MARKER: marker }, { timeout_seconds: 0.5 }) },
      cwd,
    });
    await mcp.start();
    expect(statusOf(mcp, 'test').timeoutMs).toBe(500);
    const started = Date.now();
    const hung = await callOnce(mcp, 'mcp__test__hang', {}, cwd);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(hung).toMatchObject({ isError: true, errorCode: 'mcp_timeout' });
    expect(hung.text).toContain('did not answer within 0.5 s');
    // The server heard the cancellation, and still answers.
    await waitFor(() => statusOf(mcp, 'test').state === 'ready');
    await expect.poll(() => readFile(marker, 'utf8').catch(() => '')).toBe('cancelled\n');
    expect((await callOnce(mcp, 'mcp__test__echo', { text: 'still here' }, cwd)).text).toBe(
      'echo: still here',
    );
  });

  it('stops a running MCP call when the loop is aborted', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({ servers: { test: stdioEntry() }, cwd });
    await mcp.start();
    const controller = new AbortController();
    const loop = collect({
      model: new ScriptedModel([{ toolCalls: [{ id: 'c', name: 'mcp__test__hang', input: {} }] }]),
      tools: mcp.tools(),
      permissions: createPermissionPolicy({
        projectRoot: cwd,
        userRules: [{ tool: 'mcp__test', action: 'allow' }],
      }),
      cwd,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 300);
    const events = await loop;
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'aborted' });
    expect(results(events)[0]).toMatchObject({ errorCode: 'tool_aborted' });
  });

  it('reports servers that cannot start, and leaves disabled ones alone', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({
      servers: {
        missing: stdioEntry({}, { command: 'shammah-no-such-command', args: [] }),
        dies: stdioEntry({}, { args: ['-e', 'console.error("bad config: token missing"); process.exit(1)'] }),
        off: stdioEntry({}, { enabled: false }),
        nothing: { transport: 'stdio', args: [], env: {}, enabled: true },
      },
      cwd,
    });
    await mcp.start();
    const [missing, dies, off, nothing] = mcp.status();
    expect(missing).toMatchObject({ state: 'failed' });
    expect(missing!.error).toContain('command not found');
    expect(dies).toMatchObject({ state: 'failed' });
    expect(dies!.error).toContain('bad config: token missing');
    expect(off).toMatchObject({ state: 'disabled' });
    expect(off!.error).toContain('enabled = false');
    expect(nothing!.error).toContain('has no command');
    expect(mcp.tools()).toEqual([]);
  });

  it('ends the stdio server processes on close', async () => {
    const cwd = await tempDirectory();
    const mcp = manager({ servers: { test: stdioEntry() }, cwd });
    await mcp.start();
    const pid = statusOf(mcp, 'test').pid!;
    await mcp.close();
    expect(await waitUntilGone(pid)).toBe(true);
  });
});

describe('McpManager over HTTP', () => {
  it('uses streamable HTTP with the configured headers, and times out a hanging call', async () => {
    const cwd = await tempDirectory();
    const server = await startHttpTestServer('http');
    servers.push(server);
    const mcp = manager({
      servers: {
        remote: {
          transport: 'http',
          url: server.url,
          headers: { Authorization: 'Bearer test-token' },
          args: [],
          env: {},
          enabled: true,
          timeout_seconds: 0.5,
        },
        unauthorized: { transport: 'streamable-http', url: server.url, args: [], env: {}, enabled: true },
      },
      cwd,
    });
    await mcp.start();
    expect(statusOf(mcp, 'remote')).toMatchObject({ state: 'ready', transport: 'streamable-http' });
    expect(statusOf(mcp, 'unauthorized').state).toBe('failed');
    expect(statusOf(mcp, 'unauthorized').error).toContain('401');

    const model = new ScriptedModel([
      {
        toolCalls: [
          { id: 'a', name: 'mcp__remote__echo', input: { text: 'over http' } },
          { id: 'b', name: 'mcp__remote__hang', input: {} },
          { id: 'c', name: 'mcp__remote__echo', input: { text: 'after the hang' } },
        ],
      },
      { text: 'done' },
    ]);
    const events = await collect({
      model,
      tools: mcp.tools(),
      permissions: createPermissionPolicy({
        projectRoot: cwd,
        userRules: [{ tool: 'mcp__remote', action: 'allow' }],
      }),
      cwd,
    });
    const [echo, hang, after] = results(events);
    expect(echo).toMatchObject({ text: 'echo: over http', isError: false });
    expect(hang).toMatchObject({ errorCode: 'mcp_timeout', isError: true });
    expect(after).toMatchObject({ text: 'echo: after the hang', isError: false });
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'answered' });
  });

  it('notices an HTTP server that went away, and gives up after its restarts', async () => {
    const cwd = await tempDirectory();
    const server = await startHttpTestServer('http');
    servers.push(server);
    const mcp = manager({
      servers: {
        remote: {
          transport: 'http',
          url: server.url,
          headers: { Authorization: 'Bearer test-token' },
          args: [],
          env: {},
          enabled: true,
        },
      },
      cwd,
      maxRestarts: 1,
      restartBackoffMs: { initial: 20, max: 20 },
    });
    await mcp.start();
    const crashed = await callOnce(mcp, 'mcp__remote__crash', {}, cwd);
    expect(crashed).toMatchObject({ isError: true, errorCode: 'mcp_connection_lost' });
    await waitFor(() => statusOf(mcp, 'remote').state === 'disabled');
    expect(statusOf(mcp, 'remote').error).toContain('after 2 failures in a row');
  });

  it('speaks the legacy SSE transport of the original Shammah (transport = "sse")', async () => {
    const cwd = await tempDirectory();
    const server = await startHttpTestServer('sse');
    servers.push(server);
    const mcp = manager({
      servers: { legacy: { transport: 'sse', url: server.url, args: [], env: {}, enabled: true } },
      cwd,
    });
    await mcp.start();
    expect(statusOf(mcp, 'legacy')).toMatchObject({ state: 'ready', transport: 'sse' });
    const tools = new ToolSet(mcp.tools());
    expect(tools.get('mcp__legacy__echo')).toBeDefined();
    const model = new ScriptedModel([
      { toolCalls: [{ id: 'a', name: 'mcp__legacy__echo', input: { text: 'over sse' } }] },
      { text: 'done' },
    ]);
    const events = await collect({
      model,
      tools,
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
    });
    expect(results(events)[0]).toMatchObject({ text: 'echo: over sse', isError: false });
  });
});
