import { randomBytes } from 'node:crypto';
import { chmod, open, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file atomically: the data goes to a temporary file beside it, is flushed, gets the old
 * file's permission bits, and is renamed over the target. Readers see the old or the new content,
 * never a half-written file. Pass a path whose symbolic links are already resolved, or the link
 * itself is replaced.
 *
 * @returns whether the file existed before.
 */
export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
): Promise<{ existed: boolean }> {
  let mode: number | undefined;
  try {
    mode = (await stat(file)).mode & 0o7777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temporary = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', mode ?? 0o666);
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // The umask may have narrowed the mode given to open(); restore the old file's bits exactly.
    if (mode !== undefined) await chmod(temporary, mode);
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => {});
    throw error;
  }
  return { existed: mode !== undefined };
}
