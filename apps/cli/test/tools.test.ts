import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTeacher } from './support/scripted-teacher.js';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { STAND_IN_MODEL, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

describe('tool calls in the REPL, from a teacher', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(scriptedTeacher);
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
    await teacher.close();
    await home.remove();
  });

  const start = async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--teacher'),
      env: home.env,
      cwd: home.home,
    });
    await terminal.waitFor('Ask anything', 30_000);
    return terminal;
  };

  it('shows the call, asks permission, and "always" saves a rule that later runs honour', async () => {
    const term = await start();
    await term.type('Please run the check.');
    await term.press('Enter');
    const asking = await term.waitFor('Always allow');
    expect(asking).toContain('⚙ Bash(command: echo shammah-tool-ok)');
    expect(asking).toMatch(/Bash wants to run: echo shammah-tool-ok/);
    expect(asking).toMatch(/y {2}Allow once/);
    expect(asking).toMatch(/n {2}Deny/);
    expect(asking).toContain('waiting for you');

    await term.press('a');
    const answered = await term.waitFor('The tool said: shammah-tool-ok');
    expect(answered).toContain('⎿ allowed by you');
    expect(answered).toMatch(/⎿ shammah-tool-ok \(\+1 line\)/);
    expect(answered).toMatch(/⏺ teacher · gpt-5\.4-mini/);
    // The teacher is priced, so once the turn settles the session costs something.
    await term.waitFor((screen) =>
      /teacher · StandIn .*\$0\.\d{4}/.test(screen.trimEnd().split('\n').at(-1) ?? ''),
    );

    const toolMessage = teacher.requests.at(-1)!.messages.find((message) => message.role === 'tool');
    expect(toolMessage?.content).toContain('shammah-tool-ok');
    const saved = JSON.parse(await readFile(join(home.home, 'tool_patterns.json'), 'utf8')) as {
      rules: Array<{ tool: string; pattern?: string; action: string }>;
    };
    expect(saved.rules).toEqual([expect.objectContaining({ tool: 'Bash', action: 'allow' })]);
    expect(saved.rules[0]!.pattern).toMatch(/^echo/);
    await term.press('C-d');
    expect(await term.exitCode()).toBe(0);

    // A new run reads the saved rule: the same call runs without asking.
    const again = await start();
    const before = teacher.requests.length;
    await again.type('Please run the check.');
    await again.press('Enter');
    const second = await again.waitFor('The tool said: shammah-tool-ok');
    expect(second).not.toContain('Always allow');
    expect(second).not.toContain('allowed by you');
    expect(teacher.requests.length).toBe(before + 2);
  });

  it('a denied call does not run, and the model is told so', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(home.home, 'notes.txt'), 'keep me\n');
    const term = await start();
    await term.type('Please remove the notes.');
    await term.press('Enter');
    await term.waitFor('Bash wants to run: rm -f notes.txt');
    await term.press('n');
    const screen = await term.waitFor('The tool said:');
    expect(screen).toContain('denied by you');
    expect(await readFile(join(home.home, 'notes.txt'), 'utf8')).toBe('keep me\n');
    const toolMessage = teacher.requests.at(-1)!.messages.find((message) => message.role === 'tool');
    expect(String(toolMessage?.content)).toMatch(/denied/i);
  });

  it('/model lists and switches models, /feedback and /good queue training examples, /history and /clear', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env, cwd: home.home });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.type('/model');
    await term.press('Enter');
    const models = await term.waitFor('Models (/model <name> to use one):');
    expect(models).toMatch(/▸ auto +auto +the router decides/);
    expect(models).toMatch(/ {3}StandIn +teacher +openai-compatible:gpt-5\.4-mini/);
    await term.type('/model StandIn');
    await term.press('Enter');
    await term.waitFor('Every question goes to StandIn');
    expect((await term.screen()).trimEnd().split('\n').at(-1)).toContain('/model StandIn');

    await term.type('Say hello.');
    await term.press('Enter');
    await term.waitFor('Teacher here.');
    await term.type('/feedback critical Hello! How can I help?');
    await term.press('Enter');
    await term.waitFor('rated critical (weight 10) with your correction');
    await term.type('/good');
    await term.press('Enter');
    await term.waitFor('rated good (weight 1)');
    const queue = (await readFile(join(home.home, 'training_queue.jsonl'), 'utf8')).trimEnd().split('\n');
    // The original's fields come first on each line (the @shammah/lora queue adds the conversation and more).
    const lines = queue.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual([
      expect.objectContaining({
        query: 'Say hello.',
        response: 'Hello! How can I help?',
        weight: 10,
        feedback: 'critical: corrected by the user',
        rejectedResponse: 'Teacher here.',
        messages: [{ role: 'user', content: 'Say hello.' }],
        modelId: STAND_IN_MODEL,
      }),
      expect.objectContaining({
        query: 'Say hello.',
        response: 'Teacher here.',
        weight: 1,
        feedback: 'good',
      }),
    ]);
    expect(Object.keys(lines[0]!).slice(0, 6)).toEqual([
      'v',
      'id',
      'query',
      'response',
      'weight',
      'feedback',
    ]);

    await term.type('/history 3');
    await term.press('Enter');
    const history = await term.waitFor(/\d+ {2}\/good\n/);
    expect(history).toMatch(
      /\d+ {2}Say hello\.\n +\d+ {2}\/feedback critical Hello! How can I help\?\n +\d+ {2}\/good\n/,
    );

    await term.type('/clear');
    await term.press('Enter');
    const cleared = await term.waitFor('New conversation.');
    expect(cleared).not.toContain('Teacher here.');
    await term.type('/model auto');
    await term.press('Enter');
    await term.waitFor('The router decides again');
  });
});
