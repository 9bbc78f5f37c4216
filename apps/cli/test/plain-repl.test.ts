import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTeacher } from './support/scripted-teacher.js';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

describe('the plain REPL (--raw / --no-tui), --initial-prompt and --restore-session', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(scriptedTeacher);
    home = await makeHome(standInConfig(teacher.baseUrl));
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
  });

  it('answers an initial prompt, asks permission as a question, and leaves no screen behind', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--raw', '--initial-prompt', 'Say hello.'),
      env: home.env,
      cwd: home.home,
    });
    const term = terminal;
    const answered = await term.waitFor(
      /Teacher here\.\n\(teacher · gpt-5\.4-mini · \d+ tok[^\n]*\)\n>/,
      30_000,
    );
    expect(answered).toContain('> Say hello.\n[teacher · gpt-5.4-mini · no-local-model]\nTeacher here.');
    expect(await term.paneFlag('alternate_on')).toBe('0');

    await term.type('Please run the check.');
    await term.press('Enter');
    const asked = await term.waitFor('[y/a/n]');
    expect(asked).toMatch(
      /\* Bash \{"command":"echo shammah-tool-ok"\}\nBash wants to run: echo shammah-tool-ok\n/,
    );
    expect(asked).toMatch(
      / {2}y\) Allow once\n {2}a\) Always allow \(Bash\(echo shammah-tool-ok\*\)\)\n {2}n\) Deny/,
    );
    await term.type('y');
    await term.press('Enter');
    await term.waitFor('The tool said: shammah-tool-ok');
    await term.type('/exit');
    await term.press('Enter');
    expect(await term.exitCode()).toBe(0);
  });

  it('continues the latest session with -c: shown again, and sent to the model as context', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--no-tui', '-c'),
      env: home.env,
      cwd: home.home,
    });
    const term = terminal;
    const restored = await term.waitFor(/Restored session [\w-]+ \(\d+ messages\)\./, 30_000);
    expect(restored).toContain('> Say hello.\nTeacher here.');
    await term.type('And again?');
    await term.press('Enter');
    await term.waitFor(/Teacher here\.\n\(teacher/);
    const sent = teacher.requests.at(-1)!.messages.filter((message) => message.role !== 'system');
    expect(sent[0]).toEqual({ role: 'user', content: 'Say hello.' });
    expect(sent.at(-1)).toEqual({ role: 'user', content: 'And again?' });
    expect(sent.some((message) => message.role === 'tool')).toBe(true);
  });
});
