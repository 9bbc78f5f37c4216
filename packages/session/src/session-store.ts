import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { shammahPaths, writeFileAtomic } from '@shammah/config';
import { type ChatMessage, contentText, type Logger, silentLogger } from '@shammah/provider';
import type { PlanStep, ToolLoopEvent } from '@shammah/tools';
import { z } from 'zod';
import { AmbiguousSessionIdError, SessionCorruptError, SessionNotFoundError } from './errors.js';

/** A saved conversation, as stored in `<sessions>/<id>.json`. */
export interface SessionRecord {
  version: 1;
  id: string;
  /** The first user message, on one line, shortened. */
  title: string;
  /** The directory the conversation happened in (`--continue` resumes the latest of the current one). */
  cwd: string;
  createdAt: string;
  updatedAt: string;
  /** The model that answered last, when the host says. */
  model?: string;
  messages: ChatMessage[];
  /** The plan being carried out, if any. */
  plan?: PlanStep[];
  /** How often the conversation was compacted. */
  compactions?: number;
  /** Whatever else the host keeps (mode, permissions granted for the session, …). */
  metadata?: Record<string, unknown>;
}

/** One saved session in a listing: enough to show and pick it. */
export interface SessionSummary {
  id: string;
  title: string;
  cwd: string;
  createdAt: string;
  updatedAt: string;
  messageCount: number;
  path: string;
}

/** The sessions that could be read, newest first, and the files that could not. */
export interface SessionListing {
  sessions: SessionSummary[];
  skipped: SessionCorruptError[];
}

/** Settings of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** Where sessions are kept; default `~/.shammah/sessions` (`shammahPaths().sessions`). */
  directory?: string;
  logger?: Logger;
  /** The clock, for tests. */
  now?: () => Date;
}

const TITLE_CHARS = 80;
const ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const messageSchema = z.looseObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]),
});

const recordSchema = z.looseObject({
  version: z.literal(1),
  id: z.string().regex(ID),
  title: z.string(),
  cwd: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
  model: z.string().optional(),
  messages: z.array(messageSchema),
  plan: z
    .array(
      z.object({
        text: z.string(),
        status: z.enum(['pending', 'in_progress', 'done', 'failed']),
        note: z.string().optional(),
      }),
    )
    .optional(),
  compactions: z.number().int().min(0).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

/**
 * A conversation's title: its first user message, on one line, at most 80 characters.
 *
 * @example
 * ```ts
 * sessionTitle([{ role: 'user', content: 'Why does\n`npm test` fail?' }]); // 'Why does `npm test` fail?'
 * ```
 */
export function sessionTitle(messages: readonly ChatMessage[]): string {
  const first = messages.find((message) => message.role === 'user');
  const text = first ? contentText(first.content).replace(/\s+/g, ' ').trim() : '';
  if (text === '') return '(no messages yet)';
  return text.length > TITLE_CHARS ? `${text.slice(0, TITLE_CHARS - 1)}…` : text;
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}

/**
 * The saved conversations in Shammah's home: each one a JSON file `<id>.json`, written atomically as
 * the conversation goes, listed newest first with its first user message as the title, loaded by id
 * (`--resume`) or as the latest (`--continue`). A damaged file is reported and skipped, never fatal.
 */
export class SessionStore {
  /** Where the session files are. */
  readonly directory: string;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(options: SessionStoreOptions = {}) {
    this.directory = options.directory ?? shammahPaths().sessions;
    this.logger = (options.logger ?? silentLogger).child({ module: 'sessions' });
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Starts a new session (written on its first save). Ids sort by creation time:
   * `20250314-093015-a1b2`.
   */
  create(options: { cwd: string; model?: string; metadata?: Record<string, unknown> }): Session {
    const now = this.now();
    const id =
      `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` +
      `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}-${randomBytes(2).toString('hex')}`;
    const timestamp = now.toISOString();
    return new Session(this, this.logger, {
      version: 1,
      id,
      title: sessionTitle([]),
      cwd: options.cwd,
      createdAt: timestamp,
      updatedAt: timestamp,
      ...(options.model ? { model: options.model } : {}),
      messages: [],
      ...(options.metadata ? { metadata: options.metadata } : {}),
    });
  }

  /** Continues a loaded session: further saves go to the same file. */
  open(record: SessionRecord): Session {
    return new Session(this, this.logger, record);
  }

  /** Writes a session atomically (readers see the old file or the new, never half of one). */
  async save(record: SessionRecord): Promise<SessionRecord> {
    const saved: SessionRecord = {
      ...record,
      title: sessionTitle(record.messages),
      updatedAt: this.now().toISOString(),
    };
    await writeFileAtomic(this.pathOf(saved.id), `${JSON.stringify(saved)}\n`, 0o600);
    return saved;
  }

  /**
   * Loads a session by its id or a unique start of it (`--resume <id>`). Throws
   * {@link SessionNotFoundError}, {@link AmbiguousSessionIdError} or {@link SessionCorruptError}.
   */
  async load(id: string): Promise<SessionRecord> {
    const wanted = id.trim().replace(/\.json$/, '');
    if (!ID.test(wanted)) throw new SessionNotFoundError(id, this.directory);
    const ids = await this.ids();
    const exact = ids.includes(wanted) ? [wanted] : ids.filter((candidate) => candidate.startsWith(wanted));
    if (exact.length === 0) throw new SessionNotFoundError(id, this.directory);
    if (exact.length > 1) throw new AmbiguousSessionIdError(id, exact);
    return this.read(exact[0]!);
  }

  /**
   * The newest session that can be read (`--continue`), optionally only those started in `cwd`;
   * `undefined` when there is none. Damaged files are skipped.
   */
  async latest(options: { cwd?: string } = {}): Promise<SessionRecord | undefined> {
    const { sessions } = await this.list(options);
    for (const summary of sessions) {
      try {
        return await this.read(summary.id);
      } catch (error) {
        this.logger.warn({ err: error, id: summary.id }, 'skipping a session that cannot be read');
      }
    }
    return undefined;
  }

  /** Every readable session, newest first (optionally only those of `cwd`), and the damaged files skipped. */
  async list(options: { cwd?: string; limit?: number } = {}): Promise<SessionListing> {
    const sessions: SessionSummary[] = [];
    const skipped: SessionCorruptError[] = [];
    for (const id of await this.ids()) {
      try {
        const record = await this.read(id);
        if (options.cwd !== undefined && path.resolve(record.cwd) !== path.resolve(options.cwd)) continue;
        sessions.push({
          id: record.id,
          title: record.title,
          cwd: record.cwd,
          createdAt: record.createdAt,
          updatedAt: record.updatedAt,
          messageCount: record.messages.length,
          path: this.pathOf(record.id),
        });
      } catch (error) {
        if (!(error instanceof SessionCorruptError)) throw error;
        this.logger.warn({ path: error.path, err: error }, 'skipping a damaged session file');
        skipped.push(error);
      }
    }
    sessions.sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id.localeCompare(a.id));
    return { sessions: options.limit === undefined ? sessions : sessions.slice(0, options.limit), skipped };
  }

  /** Deletes a session by id (or a unique start of it). */
  async delete(id: string): Promise<void> {
    const record = await this.load(id).catch((error: unknown) => {
      if (error instanceof SessionCorruptError) return { id: path.basename(error.path, '.json') };
      throw error;
    });
    await rm(this.pathOf(record.id), { force: true });
  }

  /** Deletes all but the newest `keep` sessions (the original kept at most 100); returns the ids deleted. */
  async prune(keep: number): Promise<string[]> {
    const { sessions } = await this.list();
    const old = sessions.slice(Math.max(0, keep));
    await Promise.all(old.map((session) => rm(session.path, { force: true })));
    return old.map((session) => session.id);
  }

  private pathOf(id: string): string {
    return path.join(this.directory, `${id}.json`);
  }

  private async ids(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
      .map((name) => name.slice(0, -'.json'.length))
      .filter((id) => ID.test(id));
  }

  private async read(id: string): Promise<SessionRecord> {
    const file = this.pathOf(id);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SessionNotFoundError(id, this.directory);
      throw new SessionCorruptError(file, (error as Error).message, { cause: error });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw new SessionCorruptError(file, `not valid JSON: ${(error as Error).message}`, { cause: error });
    }
    const parsed = recordSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new SessionCorruptError(
        file,
        `not a session: ${issue ? `${issue.path.join('.') || 'the file'}: ${issue.message}` : 'unknown shape'}`,
        { cause: parsed.error },
      );
    }
    if (parsed.data.id !== id) {
      throw new SessionCorruptError(file, `it holds session "${parsed.data.id}" but is named "${id}.json"`);
    }
    return parsed.data as unknown as SessionRecord;
  }
}

/**
 * One conversation being recorded: give it the messages as they change (or the tool loop's events)
 * and it saves them atomically, one write at a time, the latest state winning.
 */
export class Session {
  private current: SessionRecord;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private lastError: unknown;

  constructor(
    private readonly store: SessionStore,
    private readonly logger: Logger,
    record: SessionRecord,
  ) {
    this.current = { ...record, messages: [...record.messages] };
  }

  /** The session's id, for `--resume`. */
  get id(): string {
    return this.current.id;
  }

  /** The session as last recorded. */
  get record(): SessionRecord {
    return this.current;
  }

  /** The conversation so far. */
  get messages(): ChatMessage[] {
    return [...this.current.messages];
  }

  /**
   * Records the conversation (and optionally the plan, model or metadata) and saves it. A failed
   * write is logged, not thrown; {@link Session.flush} reports it.
   */
  update(
    messages: readonly ChatMessage[],
    extra: { plan?: readonly PlanStep[]; model?: string; metadata?: Record<string, unknown> } = {},
  ): Promise<void> {
    this.current = {
      ...this.current,
      messages: [...messages],
      title: sessionTitle(messages),
      ...(extra.plan ? { plan: extra.plan.map((step) => ({ ...step })) } : {}),
      ...(extra.model ? { model: extra.model } : {}),
      ...(extra.metadata ? { metadata: { ...this.current.metadata, ...extra.metadata } } : {}),
    };
    return this.schedule();
  }

  /**
   * Follows the tool loop: saves the conversation when a loop ends (also when it paused for
   * remote tool calls) and counts compactions. Hosts call it with every event.
   */
  observe(event: ToolLoopEvent): Promise<void> {
    if (event.type === 'compaction') {
      this.current = { ...this.current, compactions: (this.current.compactions ?? 0) + 1 };
      return Promise.resolve();
    }
    if (event.type === 'done') return this.update(event.messages);
    return Promise.resolve();
  }

  /** Waits until every recorded change is on disk; throws the last write's error, if any. */
  async flush(): Promise<void> {
    await this.writing;
    if (this.lastError) {
      const error = this.lastError;
      this.lastError = undefined;
      throw error;
    }
  }

  private schedule(): Promise<void> {
    if (this.dirty) return this.writing;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      this.dirty = false;
      try {
        const saved = await this.store.save(this.current);
        this.current = { ...this.current, updatedAt: saved.updatedAt, title: saved.title };
      } catch (error) {
        this.lastError = error;
        this.logger.warn({ err: error, id: this.current.id }, 'saving the session failed');
      }
    });
    return this.writing;
  }
}

/**
 * Creates the {@link SessionStore} for `~/.shammah/sessions` (or `directory`).
 *
 * @example
 * ```ts
 * const store = createSessionStore();
 * const session = flags.resume ? store.open(await store.load(flags.resume))
 *   : flags.continue ? store.open((await store.latest({ cwd })) ?? store.create({ cwd }).record)
 *   : store.create({ cwd });
 * for await (const event of runToolLoop({ ..., messages: session.messages })) await session.observe(event);
 * ```
 */
export function createSessionStore(options: SessionStoreOptions = {}): SessionStore {
  return new SessionStore(options);
}
