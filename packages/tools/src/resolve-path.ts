import { lstat, readlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';

const MAX_SYMLINKS = 40;

/** `~` and `~/x` become the home directory; other paths are returned unchanged. */
export function expandHome(input: string, home: string = homedir()): string {
  if (input === '~') return home;
  if (input.startsWith('~/')) return path.join(home, input.slice(2));
  return input;
}

/** The absolute path, with `.` and `..` folded lexically, as the user wrote it. */
export function resolveLogicalPath(input: string, cwd: string): string {
  return path.resolve(cwd, expandHome(input));
}

/**
 * Resolves a path the way the kernel will when a tool opens it: component by component, following
 * symbolic links (also in parents, and dangling ones), with `..` applied to the real directory. Works
 * for paths that do not exist yet: the missing tail is appended to the real path of its nearest
 * existing ancestor. Permission checks and the file tools both use it, so they act on the same file.
 *
 * @example
 * ```ts
 * await resolvePhysicalPath('link-to-etc/../x', '/project'); // '/x' when link-to-etc → /etc/sub
 * ```
 */
export async function resolvePhysicalPath(input: string, cwd: string): Promise<string> {
  const expanded = expandHome(input);
  // Not path.join: it would fold `link/..` lexically, where the kernel climbs from the link's target.
  const absolute = path.isAbsolute(expanded) ? expanded : `${cwd}${path.sep}${expanded}`;
  const pending = absolute.split(path.sep).filter((part) => part !== '');
  let current = path.parse(absolute).root || path.sep;
  let symlinks = 0;
  let missing = false;

  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, part);
    if (missing) {
      current = next;
      continue;
    }
    let stats: Awaited<ReturnType<typeof lstat>>;
    try {
      stats = await lstat(next);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        missing = true;
        current = next;
        continue;
      }
      throw error;
    }
    if (stats.isSymbolicLink()) {
      symlinks += 1;
      if (symlinks > MAX_SYMLINKS) {
        throw Object.assign(new Error(`Too many levels of symbolic links resolving "${input}".`), {
          code: 'ELOOP',
        });
      }
      const target = await readlink(next);
      pending.unshift(...target.split(path.sep).filter((segment) => segment !== ''));
      if (path.isAbsolute(target)) current = path.parse(target).root || path.sep;
      continue;
    }
    current = next;
  }
  return current;
}

/** Whether `child` is `parent` or lies inside it (both absolute and normalised). */
export function isInsideDirectory(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return (
    relative === '' ||
    (relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative))
  );
}

/** A path for display: relative to `cwd` when inside it, absolute otherwise. */
export function displayPath(absolute: string, cwd: string): string {
  return isInsideDirectory(absolute, cwd) ? path.relative(cwd, absolute) || '.' : absolute;
}
