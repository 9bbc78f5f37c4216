import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, runShammah, shammahCommand, type TestHome } from './support/shammah-home.js';
import { type RecordedRequest, standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

function systemText(request: RecordedRequest | undefined): string {
  const system = request?.messages.find((message) => message.role === 'system')?.content;
  return typeof system === 'string' ? system : JSON.stringify(system ?? '');
}

describe('project instructions and /memory', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let project: string;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(() => ({ text: 'Noted.' }));
    home = await makeHome(standInConfig(teacher.baseUrl));
    // A repository with AGENTS.md at its root and CLAUDE.md in the package the user works in.
    project = await mkdtemp(join(tmpdir(), 'shammah-project-'));
    await mkdir(join(project, '.git'));
    await mkdir(join(project, 'packages', 'web'), { recursive: true });
    await writeFile(
      join(project, 'AGENTS.md'),
      '# Conventions\n\nUse pnpm, never npm. Tests live beside the code.\n',
    );
    await writeFile(
      join(project, 'packages', 'web', 'CLAUDE.md'),
      'This package is the web front end (Vite).\n',
    );
    await writeFile(join(home.home, 'constitution.md'), 'Call me Captain.\n');
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
    await rm(project, { recursive: true, force: true });
  });

  it('sends AGENTS.md, CLAUDE.md and the user-wide constitution.md to the model in the system prompt', async () => {
    const result = await runShammah(['--teacher', 'How do I add a dependency?'], {
      env: home.env,
      cwd: join(project, 'packages', 'web'),
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Noted.');
    const system = systemText(teacher.requests.at(-1));
    expect(system).toContain('You are Shammah');
    expect(system).toContain('Use pnpm, never npm. Tests live beside the code.');
    expect(system).toContain('This package is the web front end (Vite).');
    expect(system).toContain('Call me Captain.');
    // The user's file first, the most specific last.
    expect(system.indexOf('Call me Captain.')).toBeLessThan(system.indexOf('Use pnpm'));
    expect(system.indexOf('Use pnpm')).toBeLessThan(system.indexOf('web front end'));
  });

  it('/memory lists the files and their text; /memory edit opens the user-wide file in $EDITOR and reloads it', async () => {
    // An "editor" that adds a line to the file it is given, as a user would.
    const editor = join(home.home, 'fake-editor.sh');
    await writeFile(editor, '#!/bin/sh\nprintf -- "- Prefer tabs.\\n" >> "$1"\n');
    await chmod(editor, 0o755);
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--teacher'),
      env: { ...home.env, EDITOR: editor },
      cwd: project,
      height: 50,
    });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.type('/memory');
    await term.press('Enter');
    const shown = await term.waitFor('/memory edit opens your file');
    expect(shown).toMatch(
      /your instructions for every project \(.*constitution\.md\) — loaded, 16 characters/,
    );
    expect(shown).toMatch(/this project's instructions \(AGENTS\.md at .*\) — loaded, 63 characters/);
    expect(shown).toContain('Use pnpm, never npm.');
    expect(shown).toContain('Call me Captain.');

    await term.type('/memory edit');
    await term.press('Enter');
    await term.waitFor('Reloaded: 2 instruction files in the system prompt.');
    expect(await readFile(join(home.home, 'constitution.md'), 'utf8')).toBe(
      'Call me Captain.\n- Prefer tabs.\n',
    );
    // The full-screen UI is back after the editor.
    expect(await term.paneFlag('alternate_on')).toBe('1');

    await term.type('Which package manager?');
    await term.press('Enter');
    await term.waitFor('Noted.');
    expect(systemText(teacher.requests.at(-1))).toContain('- Prefer tabs.');
  });

  it('/memory edit without an editor says where the file is', async () => {
    terminal = await TmuxTerminal.start({
      command: `env -u EDITOR -u VISUAL ${shammahCommand('--teacher')}`,
      env: home.env,
      cwd: project,
    });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.type('/memory edit');
    await term.press('Enter');
    const screen = await term.waitFor('Set EDITOR');
    expect(screen.replace(/\n/g, '')).toContain(join(home.home, 'constitution.md'));
  });
});
