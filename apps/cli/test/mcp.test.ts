import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '@shammah/config';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, runShammah, shammahCommand, type TestHome } from './support/shammah-home.js';
import {
  type RecordedRequest,
  type ScriptedAnswer,
  STAND_IN_MODEL,
  TeacherStandIn,
} from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

/**
 * The MCP server of @shammah/tools' own tests, written with the official SDK: tools echo, add,
 * append_note (writes NOTES_FILE), whoami, fail, crash, hang; over stdio, or streamable HTTP behind
 * `Authorization: Bearer test-token`.
 */
const TEST_SERVER = fileURLToPath(
  new URL('../../../packages/tools/src/fixtures/mcp/test-server.mjs', import.meta.url),
);

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('');
  return '';
}

/** A teacher that uses the MCP server's tools when asked to. */
function mcpTeacher(request: RecordedRequest): ScriptedAnswer {
  const last = request.messages.at(-1)!;
  if (last.role === 'tool') return { text: `The tool said: ${text(last.content).trim()}` };
  const user = text(last.content);
  if (/echo/i.test(user)) {
    return { toolCalls: [{ name: 'mcp__echo__echo', arguments: { text: 'hello from shammah' } }] };
  }
  if (/note/i.test(user)) {
    return { toolCalls: [{ name: 'mcp__echo__append_note', arguments: { text: 'a note' } }] };
  }
  return { text: 'Teacher here.' };
}

/** The test server over streamable HTTP on 127.0.0.1. */
async function startHttpServer(): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, [TEST_SERVER, 'http'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening (\d+)/.exec(stdout);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the MCP test server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, process: child };
}

describe('shammah mcp add | list | rm, and MCP tools in a session', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let http: { url: string; process: ChildProcess };
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(mcpTeacher);
    http = await startHttpServer();
    home = await makeHome(
      [
        '[backend]',
        'enabled = false',
        '',
        '[client]',
        'use_daemon = false',
        '',
        '[[teachers]]',
        'provider = "openai-compatible"',
        'name = "StandIn"',
        `base_url = "${teacher.baseUrl}"`,
        `model = "${STAND_IN_MODEL}"`,
        'api_key = "sk-test-valid"',
        '',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    http.process.kill('SIGTERM');
    await teacher.close();
    await home.remove();
  });

  const config = async () => parseConfig(await readFile(join(home.home, 'config.toml'), 'utf8'));

  it('adds a stdio server and an HTTP server to config.toml; list shows both connected with their tools', async () => {
    const notes = join(home.home, 'notes.txt');
    const added = await runShammah(
      ['mcp', 'add', 'echo', '-e', `NOTES_FILE=${notes}`, '--', process.execPath, TEST_SERVER, 'stdio'],
      { env: home.env },
    );
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain(`Added MCP server echo (stdio: ${process.execPath} ${TEST_SERVER} stdio)`);
    const remote = await runShammah(
      [
        'mcp',
        'add',
        'docs',
        '--url',
        http.url,
        '--header',
        'Authorization: Bearer test-token',
        '--timeout',
        '5',
      ],
      { env: home.env },
    );
    expect(remote.code).toBe(0);

    // The original's [mcp_servers] format, and the teacher set up before is kept.
    const written = await config();
    expect(written.mcp_servers.echo).toEqual({
      transport: 'stdio',
      command: process.execPath,
      args: [TEST_SERVER, 'stdio'],
      env: { NOTES_FILE: notes },
      enabled: true,
    });
    expect(written.mcp_servers.docs).toMatchObject({
      transport: 'http',
      url: http.url,
      headers: { Authorization: 'Bearer test-token' },
      timeout_seconds: 5,
    });
    expect(written.teachers).toHaveLength(1);

    const listed = await runShammah(['mcp', 'list'], { env: home.env });
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      /^docs {2}connected \(streamable-http · shammah-test-server 1\.2\.3\) · 7 tools$/m,
    );
    expect(listed.stdout).toMatch(/^echo {2}connected \(stdio · shammah-test-server 1\.2\.3\) · 7 tools$/m);
    expect(listed.stdout).toMatch(/^ {2}mcp__echo__echo +Repeats the text back\. \(read-only\)$/m);
    expect(listed.stdout).toMatch(/^ {2}mcp__docs__append_note +Appends a line to the notes file\.$/m);

    const json = JSON.parse((await runShammah(['mcp', 'list', '--json'], { env: home.env })).stdout) as {
      servers: Array<{ name: string; state: string; tools: Array<{ name: string }> }>;
    };
    expect(json.servers.map((server) => [server.name, server.state, server.tools.length])).toEqual([
      ['docs', 'ready', 7],
      ['echo', 'ready', 7],
    ]);
  });

  it("offers the servers' tools to the model under the same permission rules", async () => {
    const answered = await runShammah(['--teacher', '--json', 'Please use the echo tool.'], {
      env: home.env,
    });
    expect(answered.code).toBe(0);
    const result = JSON.parse(answered.stdout) as {
      answer: string;
      toolCalls: Array<{ name: string; isError: boolean; result: string }>;
    };
    expect(result.toolCalls).toEqual([
      expect.objectContaining({
        name: 'mcp__echo__echo',
        isError: false,
        result: 'echo: hello from shammah',
      }),
    ]);
    expect(result.answer).toBe('The tool said: echo: hello from shammah');
    const offered = teacher.requests.at(-1)!.tools!.map((tool) => tool.function.name);
    expect(offered).toEqual(expect.arrayContaining(['Read', 'mcp__echo__echo', 'mcp__docs__add']));

    // A tool that is not read-only asks first; with no one to ask (one-shot), it is denied.
    const denied = await runShammah(['--teacher', '--json', 'Please write a note.'], { env: home.env });
    const deniedCall = (
      JSON.parse(denied.stdout) as { toolCalls: Array<{ isError: boolean; result: string }> }
    ).toolCalls[0]!;
    expect(deniedCall.isError).toBe(true);
    await expect(readFile(join(home.home, 'notes.txt'), 'utf8')).rejects.toThrow();

    // A project rule allowing it (as for any tool) lets it run: the server writes the note.
    const project = join(home.home, 'project');
    await mkdir(join(project, '.shammah'), { recursive: true });
    await writeFile(
      join(project, '.shammah', 'permissions.json'),
      JSON.stringify({ allow: ['mcp__echo__append_note'] }),
    );
    const allowed = await runShammah(['--teacher', '--json', 'Please write a note.'], {
      env: home.env,
      cwd: project,
    });
    const allowedCall = (
      JSON.parse(allowed.stdout) as { toolCalls: Array<{ isError: boolean; result: string }> }
    ).toolCalls[0]!;
    expect(allowedCall).toMatchObject({ isError: false, result: 'noted' });
    expect(await readFile(join(home.home, 'notes.txt'), 'utf8')).toBe('a note\n');
  });

  it('/mcp in the REPL lists the servers, their state and tools', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--raw', '--teacher'),
      env: home.env,
      cwd: home.home,
    });
    await terminal.waitFor('>', 30_000);
    // The servers connect in the background, behind the prompt: ask until they are up.
    let screen = '';
    for (let attempt = 0; attempt < 10 && !screen; attempt++) {
      await terminal.type('/mcp');
      await terminal.press('Enter');
      screen = await terminal.waitFor(/mcp__echo__hang/, 3000).catch(() => '');
    }
    expect(screen).toMatch(/^echo {2}connected \(stdio · shammah-test-server 1\.2\.3\) · 7 tools$/m);
    expect(screen).toMatch(/^ {2}mcp__echo__echo +Repeats the text back\. \(read-only\)$/m);

    // restart reconnects one server (and names the servers for a wrong name).
    await terminal.type('/mcp restart nosuch');
    await terminal.press('Enter');
    await terminal.waitFor('No MCP server named "nosuch" is configured. Servers: echo, docs.');
    await terminal.type('/mcp restart echo');
    await terminal.press('Enter');
    const restarted = await terminal.waitFor(/> \/mcp restart echo\necho {2}connected/, 30_000);
    expect(restarted).toMatch(
      /> \/mcp restart echo\necho {2}connected \(stdio · shammah-test-server 1\.2\.3\) · 7 tools/,
    );
  });

  it('rm removes a server from config.toml and from the list, and explains bad input', async () => {
    const removed = await runShammah(['mcp', 'rm', 'docs'], { env: home.env });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`Removed MCP server docs from ${join(home.home, 'config.toml')}.`);
    expect(Object.keys((await config()).mcp_servers)).toEqual(['echo']);
    const listed = await runShammah(['mcp', 'list'], { env: home.env });
    expect(listed.stdout).not.toContain('docs');
    expect(listed.stdout).toContain('echo  connected');

    const again = await runShammah(['mcp', 'rm', 'docs'], { env: home.env });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('No MCP server named "docs" is configured. Configured: echo.');
    const taken = await runShammah(['mcp', 'add', 'echo', '--', 'node', 'server.js'], { env: home.env });
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('An MCP server named "echo" is already configured.');
    const nothing = await runShammah(['mcp', 'add', 'lonely'], { env: home.env });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toContain('Say how to reach lonely: shammah mcp add lonely -- <command> [args…]');
    const badName = await runShammah(['mcp', 'add', 'my server', '--', 'node'], { env: home.env });
    expect(badName.code).toBe(1);
    expect(badName.stderr).toContain('"my server" cannot name an MCP server');
  });
});
