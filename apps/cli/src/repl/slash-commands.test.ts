import { describe, expect, it } from 'vitest';
import { completeSlashCommand, helpText, parseSlashCommand } from './slash-commands.js';

describe('slash commands', () => {
  it('parses commands and their arguments, with aliases resolved', () => {
    expect(parseSlashCommand('/feedback critical It is 4.')).toEqual({
      name: 'feedback',
      args: 'critical It is 4.',
      known: true,
    });
    expect(parseSlashCommand('/quit')).toEqual({ name: 'exit', args: '', known: true });
    expect(parseSlashCommand('/metrics')).toMatchObject({ name: 'status' });
    expect(parseSlashCommand('/improve fix')).toMatchObject({ name: 'medium', args: 'fix' });
    expect(parseSlashCommand('/frobnicate')).toEqual({ name: 'frobnicate', args: '', known: false });
  });

  it('does not take paths or prose for commands', () => {
    expect(parseSlashCommand('/usr/bin/env is missing')).toBeUndefined();
    expect(parseSlashCommand('what does /help do?')).toBeUndefined();
  });

  it('completes on Tab', () => {
    expect(completeSlashCommand('/he')).toEqual(['/help']);
    expect(completeSlashCommand('/h')).toEqual(['/help', '/history']);
    expect(completeSlashCommand('hello')).toEqual([]);
  });

  it('lists every command and key in /help', () => {
    const text = helpText();
    for (const name of [
      '/help',
      '/local',
      '/teacher',
      '/model',
      '/clear',
      '/history',
      '/plan',
      '/feedback',
      '/status',
      '/memory',
      '/exit',
    ])
      expect(text).toContain(name);
    expect(text).toContain('Shift+Tab');
  });
});
