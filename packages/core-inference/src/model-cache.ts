import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where models live: the Hugging Face hub cache, shared with every other Hugging Face tool. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(homedir(), '.cache', 'huggingface', 'hub');
}

/** The cache folder of a repository: `models--Org--Name`. */
export function repoFolderName(repoId: string): string {
  return `models--${repoId.split('/').join('--')}`;
}

/** The repository id of a cache folder name, or undefined when it is not a model folder. */
export function repoIdFromFolder(folder: string): string | undefined {
  if (!folder.startsWith('models--')) return undefined;
  return folder.slice('models--'.length).split('--').join('/');
}

/** Repository ids look like `Org/Name`. */
export function isRepoId(value: string): boolean {
  return /^[\w.-]+\/[\w.-]+$/.test(value);
}

/**
 * The snapshot folder for a revision (a branch such as `main`, resolved through `refs/`, or a
 * commit), or undefined when nothing is cached.
 */
export async function snapshotDir(
  repoId: string,
  revision = 'main',
  cacheDir = defaultCacheDir(),
): Promise<string | undefined> {
  const repoDir = join(cacheDir, repoFolderName(repoId));
  let commit = revision;
  try {
    commit = (await readFile(join(repoDir, 'refs', revision), 'utf8')).trim();
  } catch {
    // Not a branch name: treat it as a commit.
  }
  const dir = join(repoDir, 'snapshots', commit);
  try {
    return (await stat(dir)).isDirectory() ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** One cached model. */
export interface CachedModel {
  repoId: string;
  revision: string;
  path: string;
  sizeBytes: number;
  /** ONNX variants present, by file name under `onnx/`. */
  variants: string[];
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() || entry.isSymbolicLink()) {
      try {
        total += (await stat(join(entry.parentPath, entry.name))).size;
      } catch {
        // A dangling link counts for nothing.
      }
    }
  }
  return total;
}

/** Lists the models in the cache that carry ONNX files. */
export async function listCachedModels(cacheDir = defaultCacheDir()): Promise<CachedModel[]> {
  let folders: string[];
  try {
    folders = await readdir(cacheDir);
  } catch {
    return [];
  }
  const models: CachedModel[] = [];
  for (const folder of folders.sort()) {
    const repoId = repoIdFromFolder(folder);
    if (!repoId) continue;
    const snapshots = join(cacheDir, folder, 'snapshots');
    let revisions: string[] = [];
    try {
      revisions = await readdir(snapshots);
    } catch {
      continue;
    }
    for (const revision of revisions) {
      // Dot names are snapshots still being assembled by a download (or left by a killed one).
      if (revision.startsWith('.')) continue;
      const path = join(snapshots, revision);
      let variants: string[] = [];
      try {
        variants = (await readdir(join(path, 'onnx'))).filter((name) => name.endsWith('.onnx')).sort();
      } catch {
        continue;
      }
      if (variants.length === 0) continue;
      models.push({ repoId, revision, path, sizeBytes: await folderSize(path), variants });
    }
  }
  return models;
}

/** Removes a model (every revision) from the cache. Returns false when it was not there. */
export async function removeCachedModel(repoId: string, cacheDir = defaultCacheDir()): Promise<boolean> {
  const dir = join(cacheDir, repoFolderName(repoId));
  try {
    await stat(dir);
  } catch {
    return false;
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}
