import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@shammah/config';
import type { ChatMessage } from '@shammah/provider';
import { ShammahError } from '@shammah/provider';

/** A saved conversation. */
export interface SavedSession {
  id: string;
  updatedAt: string;
  cwd: string;
  messages: ChatMessage[];
}

/** No saved session matches what `--restore-session` named. */
export class SessionNotFoundError extends ShammahError {
  override readonly name = 'SessionNotFoundError';
  constructor(id: string, directory: string) {
    super(
      'session_not_found',
      id === 'latest'
        ? `There is no saved session in ${directory} yet. Start one with \`shammah\`; it is saved after each answer.`
        : `No saved session "${id}" in ${directory}. Use --restore-session latest, or one of the ids there (file names without .json).`,
    );
  }
}

/** Saves the conversation as `<id>.json` in the sessions folder, atomically. */
export async function saveSession(
  directory: string,
  id: string,
  messages: readonly ChatMessage[],
): Promise<void> {
  const session: SavedSession = {
    id,
    updatedAt: new Date().toISOString(),
    cwd: process.cwd(),
    messages: [...messages],
  };
  await writeFileAtomic(join(directory, `${id}.json`), `${JSON.stringify(session)}\n`, 0o600);
}

/** Loads a saved session by id, or the newest with `latest`. */
export async function loadSession(directory: string, id: string): Promise<SavedSession> {
  let file = join(directory, `${id}.json`);
  if (id === 'latest') {
    const names = await readdir(directory).catch(() => [] as string[]);
    const dated = await Promise.all(
      names
        .filter((name) => name.endsWith('.json'))
        .map(async (name) => ({ name, mtime: (await stat(join(directory, name))).mtimeMs })),
    );
    const newest = dated.sort((a, b) => b.mtime - a.mtime)[0];
    if (!newest) throw new SessionNotFoundError(id, directory);
    file = join(directory, newest.name);
  }
  try {
    return JSON.parse(await readFile(file, 'utf8')) as SavedSession;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new SessionNotFoundError(id, directory);
    throw error;
  }
}
