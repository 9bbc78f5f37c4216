import { shammahPaths } from '@shammah/config';
import { createSessionStore, type SessionSummary } from '@shammah/session';
import { UsageError } from '../cli-arguments.js';

/** `2026-12-06 09:30`, in local time: when a session was last saved. */
function formatTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** One line of `shammah sessions`: id, last saved, size, title and where it happened. */
function formatSession(session: SessionSummary, cwd: string): string {
  const where = session.cwd === cwd ? '' : `  (${session.cwd})`;
  return `${session.id}  ${formatTime(session.updatedAt)}  ${String(session.messageCount).padStart(4)} msgs  ${session.title}${where}`;
}

/**
 * `shammah sessions`: `list` (default; the saved conversations, newest first, with their ids for
 * `--resume`) and `rm <id>` (deletes one; a unique start of an id is enough).
 */
export async function runSessionsCommand(
  args: readonly string[],
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [action = 'list', id, ...extra] = args;
  const store = createSessionStore({ directory: shammahPaths().sessions });
  switch (action) {
    case 'list':
    case 'ls': {
      if (id !== undefined) throw new UsageError(`shammah sessions list takes no arguments, not "${id}".`);
      const { sessions, skipped } = await store.list();
      for (const problem of skipped) err.write(`shammah: ${problem.message}\n`);
      if (sessions.length === 0) {
        out.write(`No saved sessions in ${store.directory} yet. Conversations are saved as they go.\n`);
        return 0;
      }
      const cwd = process.cwd();
      out.write(`${sessions.map((session) => formatSession(session, cwd)).join('\n')}\n`);
      out.write(`\nContinue one with shammah --resume <id> (the start of an id is enough).\n`);
      return 0;
    }
    case 'rm':
    case 'delete': {
      if (!id || extra.length > 0) throw new UsageError('Usage: shammah sessions rm <id>.');
      const record = await store.load(id);
      await store.delete(record.id);
      out.write(`Deleted session ${record.id} (${record.title}).\n`);
      return 0;
    }
    default:
      throw new UsageError(`Unknown sessions command "${action}". Use: shammah sessions [list|rm <id>].`);
  }
}
