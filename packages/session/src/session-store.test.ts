import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChatMessage } from '@shammah/provider';
import { createPermissionPolicy, type PlanStep, runToolLoop } from '@shammah/tools';
import { describe, expect, it } from 'vitest';
import { AmbiguousSessionIdError, SessionCorruptError, SessionNotFoundError } from './errors.js';
import { createSessionStore, type SessionRecord, sessionTitle } from './session-store.js';
import { RecordingLogger } from './test-support/recording-logger.js';
import { ScriptedModel } from './test-support/scripted-model.js';
import { tempDirectory } from './test-support/temp-directory.js';

function clock(start = Date.parse('2025-03-14T09:30:00Z')) {
  let now = start;
  return () => {
    now += 1000;
    return new Date(now);
  };
}

const conversation = (question: string): ChatMessage[] => [
  { role: 'system', content: 'You are Shammah.' },
  { role: 'user', content: question },
  { role: 'assistant', content: 'Let me look.' },
];

describe('SessionStore', () => {
  it('saves a conversation atomically as it goes and loads it back by id or a unique prefix', async () => {
    const home = await tempDirectory();
    const directory = path.join(home, 'sessions');
    const store = createSessionStore({ directory, now: clock() });
    const session = store.create({ cwd: '/repo', model: 'local/smollm2' });
    expect(session.id).toMatch(/^\d{8}-\d{6}-[0-9a-f]{4}$/);
    // Nothing is written before there is something to keep.
    await expect(readdir(directory)).rejects.toMatchObject({ code: 'ENOENT' });

    await session.update(conversation('Why does\n  `npm test` fail?'));
    const file = path.join(directory, `${session.id}.json`);
    const saved = JSON.parse(await readFile(file, 'utf8')) as SessionRecord;
    expect(saved).toMatchObject({
      version: 1,
      id: session.id,
      title: 'Why does `npm test` fail?',
      cwd: '/repo',
      model: 'local/smollm2',
    });
    expect(saved.messages).toHaveLength(3);
    expect((await stat(file)).mode & 0o777).toBe(0o600);

    const plan: PlanStep[] = [{ text: 'Read the test', status: 'done' }];
    await session.update(
      [...conversation('Why does `npm test` fail?'), { role: 'user', content: 'And now?' }],
      {
        plan,
      },
    );
    const loaded = await store.load(session.id.slice(0, 17));
    expect(loaded.messages.at(-1)).toEqual({ role: 'user', content: 'And now?' });
    expect(loaded.plan).toEqual(plan);
    expect(loaded.updatedAt > loaded.createdAt).toBe(true);
    expect(await readdir(directory)).toEqual([`${session.id}.json`]);
  });

  it('keeps only the latest state when updates come faster than the disk', async () => {
    const directory = await tempDirectory();
    const store = createSessionStore({ directory });
    const session = store.create({ cwd: '/repo' });
    const writes: Promise<void>[] = [];
    for (let index = 1; index <= 20; index++) {
      writes.push(session.update([{ role: 'user', content: `message ${index}` }]));
    }
    await Promise.all(writes);
    await session.flush();
    expect((await store.load(session.id)).messages).toEqual([{ role: 'user', content: 'message 20' }]);
    expect((await readdir(directory)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('lists sessions newest first with their first user message as title, and finds the latest per directory', async () => {
    const directory = await tempDirectory();
    const store = createSessionStore({ directory, now: clock() });
    const first = store.create({ cwd: '/repo/a' });
    await first.update(conversation('First question'));
    const second = store.create({ cwd: '/repo/b' });
    await second.update(conversation('Second question'));
    const third = store.create({ cwd: '/repo/a' });
    await third.update(conversation('Third question'));
    await first.update([...conversation('First question'), { role: 'user', content: 'more' }]);

    const { sessions, skipped } = await store.list();
    expect(sessions.map((session) => session.title)).toEqual([
      'First question',
      'Third question',
      'Second question',
    ]);
    expect(sessions[0]).toMatchObject({ id: first.id, messageCount: 4, cwd: '/repo/a' });
    expect(skipped).toEqual([]);
    expect((await store.latest())?.id).toBe(first.id);
    expect((await store.latest({ cwd: '/repo/b' }))?.id).toBe(second.id);
    expect(await store.latest({ cwd: '/elsewhere' })).toBeUndefined();
    expect((await store.list({ limit: 1 })).sessions).toHaveLength(1);
  });

  it('reports and skips damaged session files, and never fails the listing because of them', async () => {
    const directory = await tempDirectory();
    const logger = new RecordingLogger();
    const store = createSessionStore({ directory, now: clock(), logger });
    const good = store.create({ cwd: '/repo' });
    await good.update(conversation('Still fine'));
    await writeFile(path.join(directory, '20990101-000000-dead.json'), '{"version": 1, "id": "20990101-0');
    await writeFile(
      path.join(directory, '20990101-000000-beef.json'),
      JSON.stringify({ version: 1, id: 'x' }),
    );
    await writeFile(path.join(directory, 'notes.txt'), 'not a session');
    await mkdir(path.join(directory, 'subdirectory.json'));

    const { sessions, skipped } = await store.list();
    expect(sessions.map((session) => session.title)).toEqual(['Still fine']);
    expect(skipped.map((error) => path.basename(error.path)).sort()).toEqual([
      '20990101-000000-beef.json',
      '20990101-000000-dead.json',
      'subdirectory.json',
    ]);
    expect(skipped.find((error) => error.path.endsWith('dead.json'))?.message).toMatch(
      /is damaged \(not valid JSON.*move or delete this file/,
    );
    expect(logger.entries.filter((entry) => entry.level === 'warn')).toHaveLength(3);
    expect((await store.latest())?.id).toBe(good.id);
    await expect(store.load('20990101-000000-dead')).rejects.toBeInstanceOf(SessionCorruptError);
    await expect(store.load('20990101-000000-beef')).rejects.toThrow(/not a session/);
  });

  it('says what to do when an id is unknown or ambiguous', async () => {
    const directory = await tempDirectory();
    const store = createSessionStore({ directory, now: clock() });
    await expect(store.load('nope')).rejects.toBeInstanceOf(SessionNotFoundError);
    await expect(store.load('../../etc/passwd')).rejects.toBeInstanceOf(SessionNotFoundError);
    const one = store.create({ cwd: '/r' });
    await one.update(conversation('one'));
    const two = store.create({ cwd: '/r' });
    await two.update(conversation('two'));
    const error = await store.load('2025').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AmbiguousSessionIdError);
    expect((error as AmbiguousSessionIdError).candidates.sort()).toEqual([one.id, two.id].sort());
    await expect(store.load('nope')).rejects.toThrow(/--continue for the latest/);
  });

  it('records what the tool loop did, resumes it, deletes and prunes', async () => {
    const directory = await tempDirectory();
    const store = createSessionStore({ directory, now: clock() });
    const session = store.create({ cwd: directory });
    const model = new ScriptedModel([{ text: 'Hello! How can I help?' }]);
    const history: ChatMessage[] = [{ role: 'user', content: 'Hi there' }];
    await session.update(history);
    for await (const event of runToolLoop({
      model,
      tools: [],
      permissions: createPermissionPolicy({ projectRoot: directory }),
      cwd: directory,
      messages: history,
    })) {
      await session.observe(event);
    }
    const resumed = store.open(await store.load(session.id));
    expect(resumed.messages).toEqual([
      { role: 'user', content: 'Hi there' },
      { role: 'assistant', content: 'Hello! How can I help?' },
    ]);
    await resumed.update([...resumed.messages, { role: 'user', content: 'Thanks' }]);
    expect((await store.list()).sessions).toHaveLength(1);

    for (let index = 0; index < 3; index++)
      await store.create({ cwd: directory }).update(conversation(`q${index}`));
    expect(await store.prune(2)).toHaveLength(2);
    expect((await store.list()).sessions.map((item) => item.title)).toEqual(['q2', 'q1']);
    await store.delete((await store.list()).sessions[0]!.id);
    expect((await store.list()).sessions.map((item) => item.title)).toEqual(['q1']);
  });

  it('does not throw when a save fails, and reports it on flush', async () => {
    const home = await tempDirectory();
    const blocked = path.join(home, 'sessions');
    await writeFile(blocked, 'a file where the directory should be');
    const store = createSessionStore({ directory: blocked });
    const session = store.create({ cwd: home });
    await expect(session.update(conversation('lost'))).resolves.toBeUndefined();
    await expect(session.flush()).rejects.toThrow();
    await expect(session.flush()).resolves.toBeUndefined();
  });

  it('titles a conversation by its first user message, on one line', () => {
    expect(sessionTitle([])).toBe('(no messages yet)');
    expect(sessionTitle([{ role: 'user', content: [{ type: 'text', text: 'a\n\nb' }] }])).toBe('a b');
    expect(sessionTitle([{ role: 'user', content: 'x'.repeat(200) }])).toHaveLength(80);
  });
});
