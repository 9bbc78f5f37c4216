// Server-side tools: a client opts in (x-shammah-tools: server, or shammah_tools: "server" in the body)
// and the daemon runs Shammah's own tools itself — the model's tool calls are executed on the server
// in the configured tools_dir, their results fed back, and the client gets only the final answer.
// The model is a teacher stood in for by a real HTTP server on 127.0.0.1 speaking OpenAI's protocol,
// scripted to call a tool and then answer from the tool's result; the tools, permissions and files
// are real.
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import type { WorkerGenerator } from '@shammah/core-inference';
import { silentLogger } from '@shammah/provider';
import { createOpenAICompatibleTeacher } from '@shammah/teachers';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDaemon, type Daemon, DaemonConfigError, daemonSettings } from '../src/index.js';
import { loadRealModel } from './support/real-model.js';
import { ScriptedOpenAITeacher, type ScriptedTurn } from './support/scripted-openai-teacher.js';

const SECRET = 'The launch code is 4471-ZEBRA.';

// biome-ignore lint/suspicious/noExplicitAny: the request body is read loosely
function script(body: any): ScriptedTurn {
  const last = body.messages.at(-1);
  if (last.role === 'tool') {
    const content = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
    return { type: 'text', text: `From the tool: ${content}` };
  }
  const question = String(typeof last.content === 'string' ? last.content : JSON.stringify(last.content));
  if (question.includes('Create')) {
    return {
      type: 'tool-call',
      id: 'call_write_1',
      name: 'Write',
      arguments: { file_path: 'created.txt', content: 'written by the model' },
    };
  }
  if (question.includes('passwd')) {
    return { type: 'tool-call', id: 'call_read_2', name: 'Read', arguments: { file_path: '/etc/passwd' } };
  }
  return { type: 'tool-call', id: 'call_read_1', name: 'Read', arguments: { file_path: 'notes.txt' } };
}

interface Started {
  daemon: Daemon;
  openai: OpenAI;
  anthropic: Anthropic;
  dir: string;
  logs: Array<Record<string, unknown>>;
}

let teacher: ScriptedOpenAITeacher;
const started: Started[] = [];

async function start(tools: 'off' | 'read-only' | 'all'): Promise<Started> {
  const dir = await mkdtemp(join(tmpdir(), 'shammah-server-tools-'));
  await writeFile(join(dir, 'notes.txt'), `${SECRET}\n`);
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
      callback();
    },
  });
  const daemon = createDaemon({
    teachers: [createOpenAICompatibleTeacher({ baseURL: teacher.url, model: 'gpt-4.1', apiKey: 'test-key' })],
    port: 0,
    defaultMetrics: false,
    tools,
    toolsDir: dir,
    logger: pino({ level: 'info' }, sink),
  });
  const { url } = await daemon.listen();
  const entry = {
    daemon,
    dir,
    logs,
    openai: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }),
    anthropic: new Anthropic({ baseURL: url, apiKey: 'unused', maxRetries: 0 }),
  };
  started.push(entry);
  return entry;
}

const clientTools: OpenAI.ChatCompletionTool[] = [
  {
    type: 'function',
    function: {
      name: 'Read',
      description: 'Read a file on the client',
      parameters: { type: 'object', properties: { file_path: { type: 'string' } }, required: ['file_path'] },
    },
  },
];
const ask: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What does notes.txt say?' }];

let readOnly: Started;
let all: Started;
let off: Started;

beforeAll(async () => {
  teacher = await ScriptedOpenAITeacher.start(script);
  readOnly = await start('read-only');
  all = await start('all');
  off = await start('off');
});

afterAll(async () => {
  for (const entry of started) {
    await entry.daemon.close();
    await rm(entry.dir, { recursive: true, force: true });
  }
  await teacher?.close();
});

describe('a client that asks the daemon to run its tools', () => {
  it('gets the final answer, made from the file the daemon read (header opt-in)', async () => {
    const before = teacher.requests.length;
    const { data, response } = await readOnly.openai.chat.completions
      .create(
        { model: 'shammah', messages: ask, tools: clientTools },
        { headers: { 'x-shammah-tools': 'server', 'x-request-id': 'req-read-1' } },
      )
      .withResponse();
    const choice = data.choices[0]!;
    expect(choice.finish_reason).toBe('stop');
    expect(choice.message.tool_calls ?? []).toEqual([]);
    expect(choice.message.content).toContain(SECRET);
    expect(response.headers.get('x-shammah-route')).toBe('teacher');
    // Two turns reached the teacher: the question, then the question with the daemon's Read result.
    const turns = teacher.requests.slice(before);
    expect(turns).toHaveLength(2);
    // The daemon's tools replaced the client's: the teacher saw Shammah's tool set.
    const names = turns[0]!.body.tools.map((tool: { function: { name: string } }) => tool.function.name);
    expect(names).toEqual(expect.arrayContaining(['Read', 'Glob', 'Grep', 'Write', 'Edit', 'Bash']));
    expect(turns[0]!.body.tools[0].function.description).not.toBe('Read a file on the client');
    expect(turns[1]!.body.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_read_1' });
    expect(turns[1]!.body.messages.at(-1).content).toContain(SECRET);
    // The decision is logged with the request id.
    expect(
      readOnly.logs.some(
        (line) => line.reqId === 'req-read-1' && line.tool === 'Read' && line.allowed === true,
      ),
    ).toBe(true);
    expect(usageOf(data)).toBeGreaterThan(52);
  });

  it('streams only the answer text when it opts in with shammah_tools in the body (extra_body)', async () => {
    const stream = await readOnly.openai.chat.completions.create({
      model: 'shammah',
      messages: ask,
      stream: true,
      // What `extra_body={"shammah_tools": "server"}` sends from the Python SDK.
      ...({ shammah_tools: 'server' } as object),
    });
    let text = '';
    let finish: string | null = null;
    let toolCallDeltas = 0;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      toolCallDeltas += chunk.choices[0]?.delta.tool_calls?.length ?? 0;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toContain(SECRET);
    expect(toolCallDeltas).toBe(0);
    expect(finish).toBe('stop');
  });

  it('works from the Anthropic SDK too', async () => {
    const message = await readOnly.anthropic.messages.create(
      {
        model: 'shammah',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'What does notes.txt say?' }],
      },
      { headers: { 'x-shammah-tools': 'server' } },
    );
    expect(message.stop_reason).toBe('end_turn');
    expect(message.content.every((block) => block.type === 'text')).toBe(true);
    expect(message.content.map((block) => (block.type === 'text' ? block.text : '')).join('')).toContain(
      SECRET,
    );
  });

  it('is denied a write under "read-only", and the model is told so', async () => {
    const before = teacher.requests.length;
    const answer = await readOnly.openai.chat.completions.create(
      { model: 'shammah', messages: [{ role: 'user', content: 'Create created.txt' }] },
      { headers: { 'x-shammah-tools': 'server', 'x-request-id': 'req-write-1' } },
    );
    await expect(access(join(readOnly.dir, 'created.txt'))).rejects.toThrow();
    const result = teacher.requests[before + 1]!.body.messages.at(-1);
    expect(result).toMatchObject({ role: 'tool', tool_call_id: 'call_write_1' });
    expect(result.content).toMatch(/Permission denied: Write was not allowed.*read-only/);
    expect(answer.choices[0]?.message.content).toContain('Permission denied');
    expect(
      readOnly.logs.some(
        (line) => line.reqId === 'req-write-1' && line.tool === 'Write' && line.allowed === false,
      ),
    ).toBe(true);
  });

  it('is denied a read outside tools_dir', async () => {
    const before = teacher.requests.length;
    await all.openai.chat.completions.create(
      { model: 'shammah', messages: [{ role: 'user', content: 'Show me /etc/passwd' }] },
      { headers: { 'x-shammah-tools': 'server' } },
    );
    const result = teacher.requests[before + 1]!.body.messages.at(-1);
    expect(result.content).toMatch(/Permission denied: Read was not allowed.*outside/);
    expect(result.content).not.toContain('root:');
  });

  it('may write inside tools_dir under "all"', async () => {
    const answer = await all.openai.chat.completions.create(
      { model: 'shammah', messages: [{ role: 'user', content: 'Create created.txt' }] },
      { headers: { 'x-shammah-tools': 'server' } },
    );
    expect(await readFile(join(all.dir, 'created.txt'), 'utf8')).toBe('written by the model');
    expect(answer.choices[0]?.message.content).not.toContain('Permission denied');
  });
});

describe('a client that does not opt in', () => {
  it('gets the tool call back to run itself (pass-through), even when the daemon may run tools', async () => {
    const answer = await readOnly.openai.chat.completions.create({
      model: 'shammah',
      messages: ask,
      tools: clientTools,
    });
    const choice = answer.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls).toEqual([
      {
        id: 'call_read_1',
        type: 'function',
        function: { name: 'Read', arguments: JSON.stringify({ file_path: 'notes.txt' }) },
      },
    ]);
    // The teacher saw the client's tool, not the daemon's.
    expect(teacher.requests.at(-1)!.body.tools).toHaveLength(1);
    expect(teacher.requests.at(-1)!.body.tools[0].function.description).toBe('Read a file on the client');
  });

  it('keeps pass-through with x-shammah-tools: client', async () => {
    const answer = await off.openai.chat.completions.create(
      { model: 'shammah', messages: ask, tools: clientTools },
      { headers: { 'x-shammah-tools': 'client' } },
    );
    expect(answer.choices[0]?.finish_reason).toBe('tool_calls');
  });
});

describe('a daemon whose config does not allow server tools', () => {
  it('refuses an opt-in request with 403 in OpenAI error shape', async () => {
    const before = teacher.requests.length;
    const error = await off.openai.chat.completions
      .create({ model: 'shammah', messages: ask }, { headers: { 'x-shammah-tools': 'server' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const denied = error as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(denied.status).toBe(403);
    expect(denied.code).toBe('server_tools_disabled');
    expect(denied.type).toBe('invalid_request_error');
    expect(denied.message).toContain('[server] tools');
    expect(teacher.requests.length).toBe(before);
  });

  it('refuses it in Anthropic error shape on /v1/messages', async () => {
    const error = await off.anthropic.messages
      .create(
        { model: 'shammah', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] },
        { headers: { 'x-shammah-tools': 'server' } },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect((error as InstanceType<typeof Anthropic.PermissionDeniedError>).error).toMatchObject({
      type: 'error',
      error: { type: 'permission_error' },
    });
  });

  it('rejects an opt-in value it does not know with 400', async () => {
    const error = await readOnly.openai.chat.completions
      .create({ model: 'shammah', messages: ask }, { headers: { 'x-shammah-tools': 'yes' } })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as Error).message).toContain('"server"');
  });
});

describe('the local model with server tools', () => {
  it('answers through the tool loop, with no tool-call markup in the answer', async () => {
    // The 135M model seldom calls a tool (see @shammah/tools' README); this checks that the loop runs
    // over the real queued local model, ends within its turns and returns a clean answer.
    let local: WorkerGenerator | undefined;
    let daemon: Daemon | undefined;
    const logs: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split('\n')) if (line.trim()) logs.push(JSON.parse(line));
        callback();
      },
    });
    try {
      local = await loadRealModel();
      daemon = createDaemon({
        local,
        port: 0,
        defaultMetrics: false,
        tools: 'read-only',
        toolsDir: readOnly.dir,
        maxToolTurns: 2,
        logger: pino({ level: 'info' }, sink),
      });
      const { url } = await daemon.listen();
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create(
          { model: 'shammah', max_tokens: 32, messages: ask },
          { headers: { 'x-shammah-tools': 'server', 'x-request-id': 'req-local-1' } },
        )
        .withResponse();
      expect(response.headers.get('x-shammah-route')).toBe('local');
      const choice = data.choices[0]!;
      expect(['stop', 'length']).toContain(choice.finish_reason);
      expect(choice.message.tool_calls ?? []).toEqual([]);
      expect(choice.message.content ?? '').not.toMatch(/<\/?tool_call>/);
      const finished = logs.find(
        (line) => line.reqId === 'req-local-1' && line.msg === 'server tool loop finished',
      );
      expect(finished).toBeDefined();
      expect(['answered', 'max-turns']).toContain(finished?.reason);
    } finally {
      await daemon?.close();
      await local?.dispose();
    }
  }, 120_000);
});

describe('daemon config', () => {
  it('takes [server] tools and tools_dir from config.toml', async () => {
    const home = await mkdtemp(join(tmpdir(), 'shammah-server-tools-home-'));
    const workspace = await mkdtemp(join(tmpdir(), 'shammah-server-tools-dir-'));
    await writeFile(join(workspace, 'notes.txt'), 'Config said: read me.\n');
    await writeFile(
      join(home, 'config.toml'),
      [
        '[server]',
        'tools = "read-only"',
        `tools_dir = ${JSON.stringify(workspace)}`,
        '',
        '[[teachers]]',
        'provider = "openai"',
        'api_key = "test-key"',
        'model = "gpt-4.1"',
        `base_url = ${JSON.stringify(teacher.url)}`,
        '',
      ].join('\n'),
    );
    const settings = await daemonSettings(
      { home, bind: '127.0.0.1:0', noLocal: true, noDownload: true, version: 'test' },
      silentLogger,
    );
    expect(settings.tools).toBe('read-only');
    const daemon = createDaemon({ ...settings, defaultMetrics: false });
    try {
      const { url } = await daemon.listen();
      const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
      const answer = await client.chat.completions.create(
        { model: 'shammah', messages: ask },
        { headers: { 'x-shammah-tools': 'server' } },
      );
      expect(answer.choices[0]?.message.content).toContain('Config said: read me.');
    } finally {
      await daemon.close();
      await settings.dispose();
      await rm(home, { recursive: true, force: true });
      await rm(workspace, { recursive: true, force: true });
    }
  });

  it('refuses tools = "all" on a non-loopback address without authentication', () => {
    expect(() => createDaemon({ teachers: [], host: '0.0.0.0', tools: 'all' })).toThrow(DaemonConfigError);
    expect(() => createDaemon({ teachers: [], host: '0.0.0.0', tools: 'all' })).toThrow(/tools = "all"/);
  });

  it('refuses a tools_dir that is not a directory', async () => {
    const file = join(readOnly.dir, 'notes.txt');
    expect(() => createDaemon({ teachers: [], tools: 'read-only', toolsDir: file })).toThrow(/tools_dir/);
  });
});

function usageOf(data: OpenAI.ChatCompletion): number {
  return data.usage?.total_tokens ?? 0;
}
