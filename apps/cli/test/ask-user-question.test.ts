import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTeacher } from './support/scripted-teacher.js';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

describe('AskUserQuestion in the REPL', () => {
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

  const tool = () => {
    const message = teacher.requests.at(-1)!.messages.find((candidate) => candidate.role === 'tool');
    return String(message?.content);
  };

  it('shows the question and its choices; the pick goes back to the model', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env, cwd: home.home });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.type('Which database for the app?');
    await term.press('Enter');
    const asked = await term.waitFor('Type an answer');
    expect(asked).toContain('Which database should the app use?');
    expect(asked).toContain('PostgreSQL: a server, for production');
    expect(asked).toMatch(/1 {2}PostgreSQL/);
    expect(asked).toMatch(/2 {2}SQLite/);
    expect(asked).toMatch(/3 {2}MySQL/);
    expect(asked).toMatch(/o {2}Type an answer/);
    // No permission prompt: asking changes nothing.
    expect(asked).not.toContain('Allow once');

    await term.press('2');
    const answered = await term.waitFor('The tool said: The user chose: "SQLite".');
    expect(answered).toContain('Which database should the app use? → SQLite');
    expect(tool()).toBe('The user chose: "SQLite".');
  });

  it("takes an answer in the user's own words in the plain REPL", async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand('--raw'), env: home.env, cwd: home.home });
    const term = terminal;
    await term.waitFor('>', 30_000);
    await term.type('Which database for the app?');
    await term.press('Enter');
    const asked = await term.waitFor('[1/2/3/o]');
    expect(asked).toMatch(/Which database should the app use\?\n/);
    expect(asked).toMatch(/ {2}1\) PostgreSQL\n {2}2\) SQLite\n {2}3\) MySQL\n {2}o\) Type an answer/);
    await term.type('o');
    await term.press('Enter');
    await term.waitFor('Type your answer and press Enter.');
    await term.type('DuckDB, it is for analytics');
    await term.press('Enter');
    await term.waitFor('The tool said: The user answered: DuckDB, it is for analytics');
    expect(tool()).toBe('The user answered: DuckDB, it is for analytics');
  });
});
