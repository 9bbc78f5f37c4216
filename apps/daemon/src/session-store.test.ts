import { describe, expect, it } from 'vitest';
import { InvalidRequestError } from './errors.js';
import { SessionStore, validateSessionId } from './session-store.js';

describe('SessionStore', () => {
  it('adds up each turn of a session', () => {
    const store = new SessionStore();
    store.begin('s1');
    expect(store.get('s1')?.active).toBe(1);
    store.end('s1', {
      usage: { inputTokens: 30, outputTokens: 5, cachedInputTokens: 0 },
      route: 'local',
      model: 'm',
    });
    store.begin('s1');
    store.end('s1', {
      usage: { inputTokens: 50, outputTokens: 7, cachedInputTokens: 34 },
      route: 'teacher',
      model: 't',
    });
    expect(store.get('s1')).toMatchObject({
      turns: 2,
      active: 0,
      promptTokens: 80,
      cachedPromptTokens: 34,
      completionTokens: 12,
      lastRoute: 'teacher',
      lastModel: 't',
    });
  });

  it('keeps at most maxSessions, dropping the least recently used idle one', () => {
    const store = new SessionStore({ maxSessions: 2 });
    store.begin('old');
    store.end('old', {});
    store.begin('busy');
    store.begin('old');
    store.end('old', {});
    store.end('busy', {});
    // `busy` is now the least recently used.
    store.begin('new');
    expect(
      store
        .list()
        .map((session) => session.id)
        .sort(),
    ).toEqual(['new', 'old']);
  });

  it('drops sessions idle longer than the timeout, but never one with a request running', () => {
    let now = 0;
    const counts: number[] = [];
    const store = new SessionStore({
      idleTimeoutMs: 1000,
      now: () => now,
      onChange: (count) => counts.push(count),
    });
    store.begin('idle');
    store.end('idle', {});
    store.begin('running');
    now = 5000;
    expect(store.sweep()).toBe(1);
    expect(store.get('idle')).toBeUndefined();
    expect(store.get('running')).toBeDefined();
    expect(counts.at(-1)).toBe(1);
  });

  it('accepts ordinary ids and refuses odd ones, naming where they came from', () => {
    expect(validateSessionId('chat-2024_01:abc@host.local', 'header')).toBe('chat-2024_01:abc@host.local');
    expect(() => validateSessionId('a b', 'the x-session-id header')).toThrow(InvalidRequestError);
    expect(() => validateSessionId('x'.repeat(129), 'user')).toThrow(/1–128/);
  });
});
