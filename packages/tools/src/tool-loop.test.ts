import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  contentText,
  type ModelCapabilities,
  type ToolCall,
} from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { createCodingTools } from './coding-tools.js';
import { createPermissionPolicy, type PermissionAnswer } from './permission-policy.js';
import { waitUntilGone } from './test-support/processes.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';
import { runToolLoop, type ToolLoopEvent, type ToolLoopOptions, type ToolLoopState } from './tool-loop.js';
import { ToolSet } from './tool-set.js';

/** One scripted answer: text (streamed in small deltas), native tool calls, or a failure. */
interface ScriptedTurn {
  text?: string;
  toolCalls?: ToolCall[];
  error?: Error;
}

/**
 * A chat model that plays a script, written here because the real local model is built in another
 * package at the same time; a later change adds the end-to-end loop test with the real SmolLM2.
 */
class ScriptedModel implements ChatModel {
  readonly provider = 'scripted';
  readonly modelId = 'scripted-1';
  readonly capabilities: ModelCapabilities;
  readonly requests: ChatRequest[] = [];

  constructor(
    private readonly script: Array<ScriptedTurn | ((request: ChatRequest) => ScriptedTurn)>,
    options: { nativeTools?: boolean } = {},
  ) {
    this.capabilities = {
      tools: options.nativeTools ?? false,
      streaming: true,
      vision: false,
      contextLength: 8192,
      maxOutputTokens: 1024,
    };
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    this.requests.push(request);
    const next = this.script.shift();
    if (!next) throw new Error('The script has no more turns.');
    const turn = typeof next === 'function' ? next(request) : next;
    if (turn.error) throw turn.error;
    const text = turn.text ?? '';
    for (let index = 0; index < text.length; index += 7) {
      if (request.signal?.aborted) {
        yield { type: 'finish', finishReason: 'abort', usage: { inputTokens: 10, outputTokens: index } };
        return;
      }
      await Promise.resolve();
      yield { type: 'text-delta', text: text.slice(index, index + 7) };
    }
    for (const call of turn.toolCalls ?? []) yield { type: 'tool-call', ...call };
    yield {
      type: 'finish',
      finishReason: (turn.toolCalls?.length ?? 0) > 0 ? 'tool-calls' : 'stop',
      usage: { inputTokens: 10, outputTokens: 5 },
    };
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}

async function collect(options: ToolLoopOptions): Promise<ToolLoopEvent[]> {
  const events: ToolLoopEvent[] = [];
  for await (const event of runToolLoop(options)) events.push(event);
  return events;
}

function doneOf(events: ToolLoopEvent[]) {
  const last = events.at(-1);
  if (last?.type !== 'done') throw new Error('The loop did not end with a done event.');
  expect(events.filter((event) => event.type === 'done')).toHaveLength(1);
  return last;
}

const textOf = (events: ToolLoopEvent[]) =>
  events.map((event) => (event.type === 'text-delta' ? event.text : '')).join('');

async function project() {
  const root = await tempDirectory();
  await writeFiles(root, { 'notes.txt': 'remember the milk\n' });
  return root;
}

const user = (content: string) => [{ role: 'user' as const, content }];

describe('runToolLoop with a model that writes tool calls as text', () => {
  it('runs model → tool → model and never shows the call text as answer', async () => {
    const root = await project();
    const model = new ScriptedModel([
      {
        text: 'Let me look.\n<tool_call>\n{"name": "read", "arguments": {"file_path": "notes.txt"}}\n</tool_call>',
      },
      { text: 'Your notes say: remember the milk.' },
    ]);
    const events = await collect({
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: root,
      messages: user('What do my notes say?'),
    });
    expect(events.map((event) => event.type)).toEqual([
      'text-delta',
      'text-delta',
      'tool-call',
      'turn-finished',
      'permission-decided',
      'tool-result',
      ...Array(5).fill('text-delta'),
      'turn-finished',
      'done',
    ]);
    expect(textOf(events)).toBe('Let me look.\nYour notes say: remember the milk.');
    const result = events.find((event) => event.type === 'tool-result');
    expect(result?.type === 'tool-result' && result.outcome).toMatchObject({
      toolName: 'Read',
      text: '     1\tremember the milk',
      isError: false,
    });
    const done = doneOf(events);
    expect(done).toMatchObject({ reason: 'answered', turns: 2, text: 'Your notes say: remember the milk.' });
    expect(done.usage).toEqual({ inputTokens: 20, outputTokens: 10 });

    // The second request carried the tools in the system prompt and the result as text.
    const second = model.requests[1]!;
    expect(second.tools).toBeUndefined();
    expect(second.stop).toEqual(['<tool_response>']);
    expect(second.messages[0]).toMatchObject({ role: 'system', content: expect.stringContaining('<tools>') });
    expect(
      second.messages.slice(1).map((message) => [message.role, contentText(message.content as string)]),
    ).toEqual([
      ['user', 'What do my notes say?'],
      [
        'assistant',
        'Let me look.\n<tool_call>\n{"name":"read","arguments":{"file_path":"notes.txt"}}\n</tool_call>',
      ],
      ['user', '<tool_response>\n     1\tremember the milk\n</tool_response>'],
    ]);
    // The conversation the loop returns keeps the structured form.
    expect(done.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(done.messages[1]).toMatchObject({
      content: [
        { type: 'text', text: 'Let me look.' },
        { type: 'tool-call', name: 'read', input: { file_path: 'notes.txt' } },
      ],
    });
  });

  it('gives unknown tools, invalid input and unreadable calls back to the model as errors', async () => {
    const root = await project();
    const model = new ScriptedModel([
      {
        text:
          '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>\n' +
          '<tool_call>{"name": "Read", "arguments": {"offset": 2}}</tool_call>',
      },
      { text: '<tool_call>read notes.txt please</tool_call>' },
      { text: 'I cannot check the weather.' },
    ]);
    const events = await collect({
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: root,
      messages: user('Weather?'),
    });
    const results = events.flatMap((event) => (event.type === 'tool-result' ? [event.outcome] : []));
    expect(results.map((outcome) => [outcome.errorCode, outcome.isError])).toEqual([
      ['tool_unknown', true],
      ['tool_invalid_input', true],
    ]);
    expect(events.some((event) => event.type === 'tool-call-parse-error')).toBe(true);
    const third = model.requests[2]!.messages.at(-1)!;
    expect(third).toMatchObject({
      role: 'user',
      content: expect.stringContaining('Your tool call could not be read'),
    });
    expect(doneOf(events)).toMatchObject({
      reason: 'answered',
      turns: 3,
      text: 'I cannot check the weather.',
    });
  });

  it('refuses an identical call made too often and stops at the turn limit', async () => {
    const root = await project();
    const call = '<tool_call>{"name": "Read", "arguments": {"file_path": "notes.txt"}}</tool_call>';
    const model = new ScriptedModel(Array.from({ length: 10 }, () => ({ text: call })));
    const events = await collect({
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: root,
      messages: user('Read it again and again'),
    });
    const codes = events.flatMap((event) =>
      event.type === 'tool-result' ? [event.outcome.errorCode ?? 'ok'] : [],
    );
    expect(codes).toEqual(['ok', 'ok', 'tool_repeated_call', 'tool_repeated_call', 'tool_repeated_call']);
    expect(doneOf(events)).toMatchObject({ reason: 'max-turns', turns: 5 });
    expect(model.requests).toHaveLength(5);
  });

  it('ends with an error when the model fails, and never throws', async () => {
    const root = await project();
    const failure = new Error('the model crashed');
    const events = await collect({
      model: new ScriptedModel([{ error: failure }]),
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: root,
      messages: user('Hi'),
    });
    expect(doneOf(events)).toMatchObject({ reason: 'error', error: failure, turns: 1 });
  });
});

describe('runToolLoop with native tool calls', () => {
  it('sends tool definitions and takes tool-call parts, asking permission for writes', async () => {
    const root = await project();
    const model = new ScriptedModel(
      [
        {
          text: 'Writing it.',
          toolCalls: [{ id: 'toolu_1', name: 'Write', input: { file_path: 'out.txt', content: 'done\n' } }],
        },
        { text: 'Wrote out.txt.' },
      ],
      { nativeTools: true },
    );
    const answers: PermissionAnswer[] = ['allow-once'];
    const events = await collect({
      model,
      tools: new ToolSet(createCodingTools()),
      permissions: createPermissionPolicy({ projectRoot: root, ask: async () => answers.shift()! }),
      cwd: root,
      messages: user('Write done to out.txt'),
    });
    expect(model.requests[0]!.tools?.map((tool) => tool.name)).toContain('Write');
    expect(
      events
        .map((event) => event.type)
        .filter((type) => type.startsWith('permission') || type === 'tool-result'),
    ).toEqual(['permission-asked', 'permission-decided', 'tool-result']);
    const asked = events.find((event) => event.type === 'permission-asked');
    expect(asked?.type === 'permission-asked' && asked.prompt.message).toBe('Write wants to write out.txt');
    expect(await readFile(path.join(root, 'out.txt'), 'utf8')).toBe('done\n');
    const toolMessage = model.requests[1]!.messages.find((message) => message.role === 'tool');
    expect(toolMessage).toMatchObject({
      content: [{ toolCallId: 'toolu_1', toolName: 'Write', content: 'Created out.txt (1 lines, 5 bytes).' }],
    });
    expect(doneOf(events)).toMatchObject({ reason: 'answered', text: 'Wrote out.txt.' });
  });

  it('streams Bash output as events and stops a running command when aborted', async () => {
    const root = await project();
    const controller = new AbortController();
    const model = new ScriptedModel(
      [{ toolCalls: [{ id: 'b1', name: 'Bash', input: { command: 'echo started; sleep 30; echo never' } }] }],
      { nativeTools: true },
    );
    const started = Date.now();
    const events: ToolLoopEvent[] = [];
    for await (const event of runToolLoop({
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({
        projectRoot: root,
        // Each command of the compound command needs a rule of its own.
        userRules: [
          { tool: 'Bash', pattern: 'echo *', action: 'allow' },
          { tool: 'Bash', pattern: 'sleep *', action: 'allow' },
        ],
      }),
      cwd: root,
      signal: controller.signal,
      messages: user('Run it'),
    })) {
      events.push(event);
      if (event.type === 'tool-output') controller.abort();
    }
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(events.find((event) => event.type === 'tool-output')).toMatchObject({
      stream: 'stdout',
      text: 'started\n',
    });
    const result = events.find((event) => event.type === 'tool-result');
    expect(result?.type === 'tool-result' && result.outcome.data).toMatchObject({ aborted: true });
    expect(doneOf(events)).toMatchObject({ reason: 'aborted' });
  });

  it('cancels a running tool when the caller stops listening', async () => {
    const root = await project();
    const pidFile = path.join(root, 'pid');
    const model = new ScriptedModel(
      [
        {
          toolCalls: [
            { id: 'b2', name: 'Bash', input: { command: `sleep 300 & echo $! > ${pidFile}; echo up; wait` } },
          ],
        },
      ],
      { nativeTools: true },
    );
    for await (const event of runToolLoop({
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({
        projectRoot: root,
        userRules: [{ tool: 'Bash', action: 'allow' }],
      }),
      cwd: root,
      messages: user('Start it'),
    })) {
      if (event.type === 'tool-output') break;
    }
    const pid = Number(await readFile(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntilGone(pid)).toBe(true);
  });

  it('ends after a restart the user confirmed', async () => {
    const root = await project();
    let restarted = false;
    const events = await collect({
      model: new ScriptedModel(
        [{ toolCalls: [{ id: 'r1', name: 'restart_session', input: { reason: 'config changed' } }] }],
        { nativeTools: true },
      ),
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root, ask: async () => 'allow-once' }),
      cwd: root,
      requestRestart: () => {
        restarted = true;
      },
      messages: user('Restart yourself'),
    });
    expect(restarted).toBe(true);
    expect(doneOf(events)).toMatchObject({ reason: 'restart-requested', turns: 1 });
  });
});

describe('runToolLoop pass-through', () => {
  it('hands remote calls over, and resumes with their results', async () => {
    const root = await project();
    const model = new ScriptedModel([
      {
        text:
          '<tool_call>{"name": "Read", "arguments": {"file_path": "notes.txt"}}</tool_call>\n' +
          '<tool_call>{"name": "Bash", "arguments": {"command": "uname -a"}}</tool_call>',
      },
      { text: 'Milk, on Linux.' },
    ]);
    const common = {
      model,
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: root,
      executeRemotely: (call: ToolCall) => call.name === 'Bash',
    };
    const first = await collect({ ...common, messages: user('Notes and OS?') });
    const paused = doneOf(first);
    expect(paused.reason).toBe('tool-calls-pending');
    expect(paused.state?.pendingToolCalls).toMatchObject([{ name: 'Bash', input: { command: 'uname -a' } }]);
    expect(first.filter((event) => event.type === 'tool-result')).toHaveLength(1);

    // The state survives a trip through JSON, as a daemon would store it.
    const state = JSON.parse(JSON.stringify(paused.state)) as ToolLoopState;
    const second = await collect({
      ...common,
      resume: { state, results: [{ toolCallId: state.pendingToolCalls[0]!.id, content: 'Linux box 6.1' }] },
    });
    const done = doneOf(second);
    expect(done).toMatchObject({ reason: 'answered', turns: 2, text: 'Milk, on Linux.' });
    const toolMessage = done.messages.find((message) => message.role === 'tool');
    expect(
      toolMessage?.role === 'tool' && toolMessage.content.map((part) => [part.toolName, part.content]),
    ).toEqual([
      ['Read', '     1\tremember the milk'],
      ['Bash', 'Linux box 6.1'],
    ]);
    expect(contentText(model.requests[1]!.messages.at(-1)!.content as string)).toContain('Linux box 6.1');
  });
});

describe('runToolLoop tool context', () => {
  it('runs tools in the given directory', async () => {
    const root = await project();
    const events = await collect({
      model: new ScriptedModel(
        [{ toolCalls: [{ id: 'g', name: 'Glob', input: { pattern: '*.txt' } }] }, { text: 'One file.' }],
        { nativeTools: true },
      ),
      tools: createCodingTools(),
      permissions: createPermissionPolicy({ projectRoot: root }),
      cwd: contextFor(root).cwd,
      messages: user('Files?'),
    });
    const result = events.find((event) => event.type === 'tool-result');
    expect(result?.type === 'tool-result' && result.outcome.text).toBe('notes.txt');
  });
});
