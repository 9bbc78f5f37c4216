import { type Dirent, existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';

/** Options of {@link walkFiles}. */
export interface WalkFilesOptions {
  signal?: AbortSignal;
  /** Visit files and directories whose names start with a dot (`.git` is always skipped). */
  includeHidden?: boolean;
  /** Honour `.gitignore` and `.ignore` files and `.git/info/exclude` (default true). */
  respectIgnoreFiles?: boolean;
}

/** A file found by {@link walkFiles}. */
export interface WalkedFile {
  /** Absolute path. */
  path: string;
  /** Relative to the walk's root, with `/` separators. */
  relativePath: string;
}

interface IgnoreLayer {
  base: string;
  matcher: Ignore;
}

const IGNORE_FILES = ['.gitignore', '.ignore'];

async function readIgnoreLayer(
  directory: string,
  files: readonly string[],
): Promise<IgnoreLayer | undefined> {
  let matcher: Ignore | undefined;
  for (const name of files) {
    try {
      const text = await readFile(path.join(directory, name), 'utf8');
      matcher ??= ignore();
      matcher.add(text);
    } catch {
      // Missing or unreadable ignore files ignore nothing.
    }
  }
  return matcher ? { base: directory, matcher } : undefined;
}

/** Ignore files of the directories above `root`, up to the repository's top (the one holding `.git`). */
async function ancestorLayers(root: string): Promise<IgnoreLayer[]> {
  const ancestors: string[] = [];
  let current = root;
  let repositoryTop: string | undefined;
  while (true) {
    if (existsSync(path.join(current, '.git'))) {
      repositoryTop = current;
      break;
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
    ancestors.unshift(current);
  }
  if (!repositoryTop) return [];
  const layers: IgnoreLayer[] = [];
  const exclude = await readIgnoreLayer(path.join(repositoryTop, '.git', 'info'), ['exclude']);
  if (exclude) layers.push({ base: repositoryTop, matcher: exclude.matcher });
  for (const directory of ancestors) {
    const layer = await readIgnoreLayer(directory, IGNORE_FILES);
    if (layer) layers.push(layer);
  }
  return layers;
}

function isIgnored(layers: readonly IgnoreLayer[], absolute: string, isDirectory: boolean): boolean {
  let ignored = false;
  for (const layer of layers) {
    const relative = path.relative(layer.base, absolute).split(path.sep).join('/');
    if (relative === '' || relative.startsWith('../')) continue;
    const result = layer.matcher.test(isDirectory ? `${relative}/` : relative);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

function byName(a: Dirent, b: Dirent): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Walks the files under `root` depth-first in name order, like `rg --files --sort path`: honours
 * `.gitignore`/`.ignore` files (also those of parent directories up to the repository's top), skips
 * hidden entries unless asked, never follows symbolic links, and stops when `signal` aborts.
 *
 * @example
 * ```ts
 * for await (const file of walkFiles('/repo')) console.log(file.relativePath);
 * ```
 */
export async function* walkFiles(root: string, options: WalkFilesOptions = {}): AsyncGenerator<WalkedFile> {
  const { signal, includeHidden = false, respectIgnoreFiles = true } = options;
  const base = path.resolve(root);
  const rootLayers = respectIgnoreFiles ? await ancestorLayers(base) : [];

  async function* visit(directory: string, layers: readonly IgnoreLayer[]): AsyncGenerator<WalkedFile> {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch {
      return; // Unreadable directories are skipped, as ripgrep does.
    }
    let here = layers;
    if (respectIgnoreFiles) {
      const layer = await readIgnoreLayer(directory, IGNORE_FILES);
      if (layer) here = [...layers, layer];
    }
    entries.sort(byName);
    for (const entry of entries) {
      if (entry.name === '.git') continue;
      if (!includeHidden && entry.name.startsWith('.')) continue;
      const absolute = path.join(directory, entry.name);
      if (entry.isDirectory()) {
        if (respectIgnoreFiles && isIgnored(here, absolute, true)) continue;
        yield* visit(absolute, here);
      } else if (entry.isFile()) {
        if (respectIgnoreFiles && isIgnored(here, absolute, false)) continue;
        yield { path: absolute, relativePath: path.relative(base, absolute).split(path.sep).join('/') };
      }
    }
  }

  yield* visit(base, rootLayers);
}
