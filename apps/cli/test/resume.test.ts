import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, runShammah, shammahCommand, type TestHome } from './support/shammah-home.js';
import { type RecordedRequest, standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('');
  return '';
}

/** What the model was sent besides the system prompt, as "role: text" lines. */
function history(request: RecordedRequest): string[] {
  return request.messages
    .filter((message) => message.role !== 'system')
    .map((message) => `${message.role}: ${text(message.content)}`);
}

interface SavedSession {
  id: string;
  title: string;
  cwd: string;
  messages: Array<{ role: string; content: unknown }>;
}

describe('resuming saved sessions', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;
  const sessionsDir = () => join(home.home, 'sessions');

  const readSessions = async (): Promise<SavedSession[]> => {
    const names = (await readdir(sessionsDir())).filter((name) => name.endsWith('.json'));
    return Promise.all(
      names.map(
        async (name) => JSON.parse(await readFile(join(sessionsDir(), name), 'utf8')) as SavedSession,
      ),
    );
  };

  /** Runs one REPL conversation of one message and leaves; returns its saved session. */
  const converse = async (message: string): Promise<SavedSession> => {
    const before = new Set((await readSessions().catch(() => [])).map((session) => session.id));
    const term = await TmuxTerminal.start({
      command: shammahCommand('--initial-prompt', message),
      env: home.env,
      cwd: home.home,
    });
    try {
      await term.waitFor(`Noted: ${message}`, 30_000);
      let created: SavedSession | undefined;
      for (let attempt = 0; attempt < 50 && !created; attempt++) {
        created = (await readSessions()).find(
          (session) => !before.has(session.id) && session.messages.length === 2,
        );
        if (!created) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await term.press('C-d');
      expect(await term.exitCode()).toBe(0);
      return created!;
    } finally {
      await term.kill();
    }
  };

  let pelican: SavedSession;
  let walrus: SavedSession;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start((request) => ({
      text: `Noted: ${text(request.messages.at(-1)?.content)}`,
    }));
    home = await makeHome(standInConfig(teacher.baseUrl));
    pelican = await converse('The secret word is pelican.');
    walrus = await converse('The secret word is walrus.');
  }, 120_000);
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
  });

  it('saves each conversation as it goes, titled by its first message', () => {
    expect(pelican.title).toBe('The secret word is pelican.');
    expect(pelican.cwd).toBe(home.home);
    expect(pelican.messages).toEqual([
      { role: 'user', content: 'The secret word is pelican.' },
      { role: 'assistant', content: 'Noted: The secret word is pelican.' },
    ]);
    expect(walrus.id).not.toBe(pelican.id);
  });

  it('--resume <id> restores that conversation: shown again, sent to the model, and saved to the same file', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--resume', pelican.id),
      env: home.env,
      cwd: home.home,
    });
    const term = terminal;
    const restored = await term.waitFor(`Restored session ${pelican.id} (2 messages).`, 30_000);
    expect(restored).toContain('The secret word is pelican.');
    expect(restored).not.toContain('walrus');
    await term.type('What was the secret word?');
    await term.press('Enter');
    await term.waitFor('Noted: What was the secret word?');
    expect(history(teacher.requests.at(-1)!)).toEqual([
      'user: The secret word is pelican.',
      'assistant: Noted: The secret word is pelican.',
      'user: What was the secret word?',
    ]);
    let saved: SavedSession | undefined;
    for (let attempt = 0; attempt < 50 && saved?.messages.length !== 4; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      saved = (await readSessions()).find((session) => session.id === pelican.id);
    }
    expect(saved?.messages.map((message) => text(message.content))).toEqual([
      'The secret word is pelican.',
      'Noted: The secret word is pelican.',
      'What was the secret word?',
      'Noted: What was the secret word?',
    ]);
    expect(await readSessions()).toHaveLength(2);
    await term.type('/status');
    await term.press('Enter');
    await term.waitFor(`Saved as:  ${pelican.id} (shammah --resume ${pelican.id})`);
  });

  it('--resume without an id lists the sessions to pick from', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--resume'),
      env: home.env,
      cwd: home.home,
    });
    const term = terminal;
    const listed = await term.waitFor('Resume which session?', 30_000);
    // Newest first: the pelican session was just continued.
    expect(listed).toMatch(/1 {2}The secret word is pelican\. · .* · 4 messages/);
    expect(listed).toMatch(/2 {2}The secret word is walrus\. · .* · 2 messages/);
    expect(listed).toMatch(/n {2}Start a new session/);
    await term.press('2');
    await term.waitFor(`Restored session ${walrus.id} (2 messages).`);
    await term.type('And now?');
    await term.press('Enter');
    await term.waitFor('Noted: And now?');
    expect(history(teacher.requests.at(-1)!)[0]).toBe('user: The secret word is walrus.');

    // /clear starts a new session; the resumed one keeps its conversation.
    await term.type('/clear');
    await term.press('Enter');
    await term.waitFor('New conversation.');
    await term.type('Fresh start.');
    await term.press('Enter');
    await term.waitFor('Noted: Fresh start.');
    let sessions: SavedSession[] = [];
    for (let attempt = 0; attempt < 50 && sessions.length < 3; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sessions = await readSessions();
    }
    expect(sessions.map((session) => session.title).sort()).toEqual([
      'Fresh start.',
      'The secret word is pelican.',
      'The secret word is walrus.',
    ]);
    expect(sessions.find((session) => session.id === walrus.id)?.messages).toHaveLength(4);
  });

  it('answers a piped question in a resumed session, and explains an unknown id', async () => {
    const result = await runShammah(['--resume', walrus.id.slice(0, 15), '-p'], {
      env: home.env,
      cwd: home.home,
      input: 'Which word was it?\n',
    });
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('Noted: Which word was it?');
    expect(history(teacher.requests.at(-1)!)[0]).toBe('user: The secret word is walrus.');
    const saved = (await readSessions()).find((session) => session.id === walrus.id)!;
    expect(saved.messages.at(-1)).toEqual({ role: 'assistant', content: 'Noted: Which word was it?' });

    const unknown = await runShammah(['--resume', 'nope', 'Hello?'], { env: home.env, cwd: home.home });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`No saved session "nope" in ${sessionsDir()}`);
  });

  it('shammah sessions lists the saved conversations newest first, and rm deletes one', async () => {
    const listed = await runShammah(['sessions'], { env: home.env, cwd: home.home });
    expect(listed.code).toBe(0);
    const lines = listed.stdout.split('\n').filter((line) => /^\d{8}-\d{6}-/.test(line));
    expect(lines).toHaveLength(3);
    // The walrus session was continued last (by the piped question).
    expect(lines[0]).toMatch(
      new RegExp(
        `^${walrus.id} {2}\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2} +6 msgs {2}The secret word is walrus\\.$`,
      ),
    );
    expect(listed.stdout).toContain('Fresh start.');
    expect(listed.stdout).toContain('shammah --resume <id>');

    const fresh = (await readSessions()).find((session) => session.title === 'Fresh start.')!;
    const removed = await runShammah(['sessions', 'rm', fresh.id], { env: home.env, cwd: home.home });
    expect(removed.stdout).toBe(`Deleted session ${fresh.id} (Fresh start.).\n`);
    expect((await readSessions()).map((session) => session.id).sort()).toEqual(
      [pelican.id, walrus.id].sort(),
    );

    const missing = await runShammah(['sessions', 'rm', fresh.id], { env: home.env, cwd: home.home });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`No saved session "${fresh.id}"`);
  });
});
