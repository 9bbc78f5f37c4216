import type { Usage } from '@shammah/provider';
import { InvalidRequestError } from './errors.js';

/** What the daemon knows of one conversation. */
export interface SessionInfo {
  id: string;
  /** ISO times. */
  createdAt: string;
  lastUsedAt: string;
  /** Requests answered in this session. */
  turns: number;
  /** Requests of this session running now. */
  active: number;
  promptTokens: number;
  /** Prompt tokens served from the model's prefix cache instead of being computed again. */
  cachedPromptTokens: number;
  completionTokens: number;
  /** Where the last answer came from (`local`, `teacher`, `builtin`) and which model gave it. */
  lastRoute?: string;
  lastModel?: string;
}

/** Options of {@link SessionStore}. */
export interface SessionStoreOptions {
  /** Most sessions kept; the least recently used idle one is dropped for a new one. Default 100. */
  maxSessions?: number;
  /** A session unused this long is dropped. Default 30 minutes. */
  idleTimeoutMs?: number;
  /** Called when sessions are added or dropped. */
  onChange?: (count: number) => void;
  now?: () => number;
}

const SESSION_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** Checks a client-given session id: 1–128 letters, digits and `._:@-`. */
export function validateSessionId(id: string, source: string): string {
  if (!SESSION_ID.test(id)) {
    throw new InvalidRequestError(
      `The session id from ${source} ("${id.slice(0, 40)}${id.length > 40 ? '…' : ''}") must be 1–128 letters, digits, ` +
        'or the characters . _ : @ -',
      { param: source },
    );
  }
  return id;
}

interface Entry extends Omit<SessionInfo, 'createdAt' | 'lastUsedAt'> {
  createdAt: number;
  lastUsedAt: number;
}

/**
 * Conversations the daemon has seen, by the id clients send. A session's turns keep the local model's
 * prefix cache warm (the cache matches the conversation's shared prefix); the store bounds how many
 * are kept, drops idle ones, and reports each one's token counts.
 */
export class SessionStore {
  readonly maxSessions: number;
  readonly idleTimeoutMs: number;
  readonly #entries = new Map<string, Entry>();
  readonly #onChange: SessionStoreOptions['onChange'];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: SessionStoreOptions = {}) {
    this.maxSessions = Math.max(1, options.maxSessions ?? 100);
    this.idleTimeoutMs = options.idleTimeoutMs ?? 30 * 60_000;
    this.#onChange = options.onChange;
    this.#now = options.now ?? Date.now;
  }

  /** Starts dropping idle sessions in the background. */
  startSweeping(): void {
    if (this.#timer) return;
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.idleTimeoutMs / 4)));
    this.#timer = setInterval(() => this.sweep(), every);
    this.#timer.unref();
  }

  stopSweeping(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Marks the start of a request in a session, creating the session if needed. */
  begin(id: string): void {
    const now = this.#now();
    let entry = this.#entries.get(id);
    if (!entry) {
      if (this.#entries.size >= this.maxSessions) this.#evictOne();
      entry = {
        id,
        createdAt: now,
        lastUsedAt: now,
        turns: 0,
        active: 0,
        promptTokens: 0,
        cachedPromptTokens: 0,
        completionTokens: 0,
      };
      this.#entries.set(id, entry);
      this.#onChange?.(this.#entries.size);
    } else {
      // Most recently used last, so eviction takes from the front.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
    }
    entry.active++;
    entry.lastUsedAt = now;
  }

  /** Marks the end of a request, with what it used. */
  end(id: string, result: { usage?: Usage; route?: string; model?: string }): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.active = Math.max(0, entry.active - 1);
    entry.lastUsedAt = this.#now();
    if (result.usage) {
      entry.turns++;
      entry.promptTokens += result.usage.inputTokens;
      entry.cachedPromptTokens += result.usage.cachedInputTokens ?? 0;
      entry.completionTokens += result.usage.outputTokens;
    }
    if (result.route) entry.lastRoute = result.route;
    if (result.model) entry.lastModel = result.model;
  }

  get(id: string): SessionInfo | undefined {
    const entry = this.#entries.get(id);
    return entry ? toInfo(entry) : undefined;
  }

  list(): SessionInfo[] {
    return [...this.#entries.values()].map(toInfo);
  }

  delete(id: string): boolean {
    const deleted = this.#entries.delete(id);
    if (deleted) this.#onChange?.(this.#entries.size);
    return deleted;
  }

  /** Drops sessions idle longer than the timeout; returns how many. */
  sweep(): number {
    const cutoff = this.#now() - this.idleTimeoutMs;
    let dropped = 0;
    for (const [id, entry] of this.#entries) {
      if (entry.active === 0 && entry.lastUsedAt < cutoff) {
        this.#entries.delete(id);
        dropped++;
      }
    }
    if (dropped > 0) this.#onChange?.(this.#entries.size);
    return dropped;
  }

  #evictOne(): void {
    for (const [id, entry] of this.#entries) {
      if (entry.active === 0) {
        this.#entries.delete(id);
        return;
      }
    }
    // Every session is busy: drop the least recently used anyway; its running request still ends normally.
    const first = this.#entries.keys().next().value;
    if (first !== undefined) this.#entries.delete(first);
  }
}

function toInfo(entry: Entry): SessionInfo {
  return {
    ...entry,
    createdAt: new Date(entry.createdAt).toISOString(),
    lastUsedAt: new Date(entry.lastUsedAt).toISOString(),
  };
}
