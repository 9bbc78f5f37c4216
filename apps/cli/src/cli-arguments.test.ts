import { describe, expect, it } from 'vitest';
import { parseCliArguments, UsageError } from './cli-arguments.js';

describe('parseCliArguments', () => {
  it('opens the REPL with no arguments, and answers once with a question', () => {
    expect(parseCliArguments([]).command).toBe('repl');
    expect(parseCliArguments(['--raw', '--direct']).flags).toEqual({ raw: true, direct: true });
    expect(parseCliArguments(['What', 'is', 'up?'])).toMatchObject({
      command: 'ask',
      question: 'What is up?',
    });
    expect(parseCliArguments(['query', 'hi'])).toMatchObject({ command: 'ask', question: 'hi' });
    expect(parseCliArguments(['-p', '--json'])).toMatchObject({
      command: 'ask',
      question: '',
      flags: { print: true, json: true },
    });
  });

  it("keeps the original's flags and subcommands", () => {
    expect(parseCliArguments(['--no-tui']).flags.raw).toBe(true);
    expect(parseCliArguments(['--initial-prompt', 'hello']).flags.initialPrompt).toBe('hello');
    expect(parseCliArguments(['-c']).flags.restoreSession).toBe('latest');
    expect(parseCliArguments(['daemon-stop'])).toMatchObject({ command: 'daemon', rest: ['stop'] });
    expect(parseCliArguments(['models', 'pull', 'org/model'])).toMatchObject({
      command: 'models',
      rest: ['pull', 'org/model'],
    });
    expect(parseCliArguments(['config', 'set', 'client.timeout_seconds', '-5'])).toMatchObject({
      command: 'config',
      rest: ['set', 'client.timeout_seconds', '-5'],
    });
  });

  it('leaves lora and mcp their own options, so a server command keeps its flags', () => {
    expect(parseCliArguments(['mcp', 'add', 'fs', '--', 'npx', '-y', 'server-fs', '--root', '.'])).toEqual({
      command: 'mcp',
      rest: ['add', 'fs', '--', 'npx', '-y', 'server-fs', '--root', '.'],
      question: '',
      flags: {},
    });
    expect(parseCliArguments(['lora', 'train', '--max-steps', '2'])).toMatchObject({
      command: 'lora',
      rest: ['train', '--max-steps', '2'],
    });
  });

  it('takes --resume with or without an id, and --continue', () => {
    expect(parseCliArguments(['--resume']).flags.restoreSession).toBe('pick');
    expect(parseCliArguments(['-r', '--raw']).flags).toEqual({ restoreSession: 'pick', raw: true });
    expect(parseCliArguments(['--resume', '20261206-093015-a1b2'])).toMatchObject({
      command: 'repl',
      flags: { restoreSession: '20261206-093015-a1b2' },
    });
    expect(parseCliArguments(['--resume=2026']).flags.restoreSession).toBe('2026');
    // A question after --resume is a question, not an id.
    expect(parseCliArguments(['--resume', 'what did we do?'])).toMatchObject({
      command: 'ask',
      question: 'what did we do?',
      flags: { restoreSession: 'pick' },
    });
    expect(parseCliArguments(['--continue']).flags.restoreSession).toBe('latest');
    expect(parseCliArguments(['--restore-session', 'abc']).flags.restoreSession).toBe('abc');
  });

  it('explains bad input', () => {
    expect(() => parseCliArguments(['--max-tokens', '0', 'hi'])).toThrow(UsageError);
    expect(() => parseCliArguments(['--local', '--teacher'])).toThrow('Use --local or --teacher, not both.');
    expect(() => parseCliArguments(['--frobnicate'])).toThrow(
      /Unknown option '--frobnicate'.*shammah --help/,
    );
  });
});
