import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { type Logger, silentLogger } from '@shammah/provider';
import { DownloadError } from './errors.js';
import { defaultCacheDir, repoFolderName } from './model-cache.js';
import { VARIANT_FILES } from './model-files.js';

/** Download progress across all files of a model. */
export interface DownloadProgress {
  /** The file being fetched, relative to the repository. */
  file: string;
  downloadedBytes: number;
  totalBytes: number;
  /** 0 to 1. */
  fraction: number;
}

/** What to fetch and from where. */
export interface DownloadOptions {
  repoId: string;
  /** Branch or commit. Default `main`. */
  revision?: string;
  cacheDir?: string;
  /** ONNX variant to fetch (`auto` picks the preferred one the repository has). Default `auto`. */
  variant?: string;
  /** The Hub. Default `HF_ENDPOINT`, else https://huggingface.co. */
  endpoint?: string;
  /** Access token for gated or private repositories. Default `HF_TOKEN`. */
  token?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof globalThis.fetch;
  logger?: Logger;
}

interface Sibling {
  rfilename: string;
  size?: number;
  blobId?: string;
  lfs?: { sha256?: string; oid?: string; size?: number };
}

interface RepoInfo {
  sha: string;
  siblings: Sibling[];
}

const CONFIG_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'chat_template.jinja',
];

/** The files of a repository a Generator needs for one variant. */
export function selectFiles(siblings: readonly Sibling[], variant = 'auto'): Sibling[] {
  const names = new Set(siblings.map((sibling) => sibling.rfilename));
  const candidates = variant === 'auto' ? VARIANT_FILES : VARIANT_FILES.filter(([name]) => name === variant);
  const chosen = candidates.find(([, file]) => names.has(`onnx/${file}`));
  if (!chosen) {
    const present = siblings.filter((s) => s.rfilename.endsWith('.onnx')).map((s) => s.rfilename);
    throw new DownloadError(
      variant === 'auto'
        ? `The repository has no ONNX model under onnx/ (it has ${present.join(', ') || 'no .onnx files'}). Pick an onnx-community export.`
        : `The repository has no "${variant}" variant (onnx/${VARIANT_FILES.find(([n]) => n === variant)?.[1] ?? '?'}); it has ${present.join(', ')}.`,
    );
  }
  const onnx = `onnx/${chosen[1]}`;
  return siblings.filter(
    (sibling) =>
      CONFIG_FILES.includes(sibling.rfilename) ||
      sibling.rfilename === onnx ||
      isExternalDataOf(sibling.rfilename, onnx),
  );
}

/**
 * Whether `name` holds external weights of the graph `onnx`: onnx-community names them
 * `model.onnx_data` (and `model.onnx_data_1`, …), optimum and onnx's own tools `model.onnx.data`.
 */
function isExternalDataOf(name: string, onnx: string): boolean {
  return name.startsWith(`${onnx}_data`) || name.startsWith(`${onnx}.data`);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function hashFile(path: string): Promise<ReturnType<typeof createHash>> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, path);
}

/**
 * Downloads a model from the Hugging Face Hub into the hub cache layout
 * (`models--Org--Name/{blobs,snapshots,refs}`), resuming partial files and verifying sizes and
 * SHA-256 sums. A killed download never leaves a model that looks complete: every blob is fetched
 * first; then a new snapshot folder is built under a temporary name and renamed into place whole
 * (a variant added to an existing snapshot gets its ONNX graph linked after its external data,
 * and a graph is what makes a variant visible); the `refs/` pointer is written last.
 * Returns the snapshot directory.
 */
export async function downloadModel(options: DownloadOptions): Promise<string> {
  const {
    repoId,
    revision = 'main',
    cacheDir = defaultCacheDir(),
    endpoint = process.env.HF_ENDPOINT ?? 'https://huggingface.co',
    token = process.env.HF_TOKEN,
    fetch = globalThis.fetch,
    signal,
  } = options;
  const log = (options.logger ?? silentLogger).child({ module: 'hub-download', repoId });
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const base = endpoint.replace(/\/+$/, '');

  const infoUrl = `${base}/api/models/${repoId}/revision/${encodeURIComponent(revision)}?blobs=true`;
  let response: Response;
  try {
    response = await fetch(infoUrl, { headers, ...(signal ? { signal } : {}) });
  } catch (error) {
    throw new DownloadError(
      `Could not reach ${base} to look up ${repoId}: ${(error as Error).message}. Check the network or HF_ENDPOINT.`,
      { cause: error },
    );
  }
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 403
        ? ' The repository may be gated or private: set HF_TOKEN to a token with access.'
        : response.status === 404
          ? ' Check the repository id and revision.'
          : '';
    throw new DownloadError(`The Hub answered ${response.status} for ${repoId}@${revision}.${hint}`, {
      statusCode: response.status,
    });
  }
  const info = (await response.json()) as RepoInfo;
  const files = selectFiles(info.siblings, options.variant);
  const repoDir = join(cacheDir, repoFolderName(repoId));
  const snapshot = join(repoDir, 'snapshots', info.sha);
  const totalBytes = files.reduce((sum, file) => sum + (file.lfs?.size ?? file.size ?? 0), 0);
  let doneBytes = 0;
  const links: Array<{ file: string; blob: string }> = [];
  await removeDeadStagingDirs(join(repoDir, 'snapshots'));

  for (const file of files) {
    const expectedSize = file.lfs?.size ?? file.size;
    const expectedSha = file.lfs?.sha256 ?? file.lfs?.oid;
    const target = join(snapshot, file.rfilename);
    const existing = await sizeOf(target);
    if (existing !== undefined && (expectedSize === undefined || existing === expectedSize)) {
      doneBytes += existing;
      continue;
    }
    const blobName =
      expectedSha ??
      file.blobId ??
      createHash('sha256').update(`${info.sha}/${file.rfilename}`).digest('hex');
    const blob = join(repoDir, 'blobs', blobName);
    await mkdir(dirname(blob), { recursive: true });
    if ((await sizeOf(blob)) !== expectedSize || expectedSize === undefined) {
      const partial = `${blob}.incomplete`;
      let offset = (await sizeOf(partial)) ?? 0;
      if (expectedSize !== undefined && offset > expectedSize) {
        await rm(partial);
        offset = 0;
      }
      const hash = offset > 0 ? await hashFile(partial) : createHash('sha256');
      const url = `${base}/${repoId}/resolve/${info.sha}/${file.rfilename}`;
      const fileHeaders = { ...headers, ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
      let download: Response;
      try {
        download = await fetch(url, {
          headers: fileHeaders,
          redirect: 'follow',
          ...(signal ? { signal } : {}),
        });
      } catch (error) {
        throw new DownloadError(
          `Downloading ${file.rfilename} failed: ${(error as Error).message}. Run the same command again to resume.`,
          { cause: error },
        );
      }
      if (download.status === 200 && offset > 0) {
        // The server ignored the range: start over.
        offset = 0;
        await rm(partial, { force: true });
      } else if (!download.ok) {
        throw new DownloadError(`The Hub answered ${download.status} for ${file.rfilename}.`, {
          statusCode: download.status,
        });
      }
      const freshHash = offset === 0 ? createHash('sha256') : hash;
      const handle = await open(partial, offset > 0 ? 'a' : 'w');
      let received = offset;
      try {
        if (!download.body) throw new DownloadError(`The Hub sent no body for ${file.rfilename}.`);
        for await (const chunk of download.body as unknown as AsyncIterable<Uint8Array>) {
          await handle.write(chunk);
          freshHash.update(chunk);
          received += chunk.byteLength;
          options.onProgress?.({
            file: file.rfilename,
            downloadedBytes: doneBytes + received,
            totalBytes,
            fraction: totalBytes ? Math.min(1, (doneBytes + received) / totalBytes) : 0,
          });
        }
        await handle.sync();
      } catch (error) {
        throw error instanceof DownloadError
          ? error
          : new DownloadError(
              `Downloading ${file.rfilename} stopped at ${received} bytes: ${(error as Error).message}. Run the same command again to resume.`,
              { cause: error },
            );
      } finally {
        await handle.close();
      }
      if (expectedSize !== undefined && received !== expectedSize) {
        throw new DownloadError(
          `${file.rfilename} is ${received} bytes but should be ${expectedSize}. Run the same command again to resume.`,
        );
      }
      if (expectedSha) {
        const actual = freshHash.digest('hex');
        if (actual !== expectedSha) {
          await rm(partial, { force: true });
          throw new DownloadError(
            `${file.rfilename} is corrupt: its SHA-256 is ${actual}, the Hub says ${expectedSha}. The partial file was removed; run the command again.`,
          );
        }
      }
      await rename(partial, blob);
    }
    links.push({ file: file.rfilename, blob });
    doneBytes += expectedSize ?? (await sizeOf(blob)) ?? 0;
    log.debug({ file: file.rfilename }, 'file downloaded');
  }
  await publishSnapshot(snapshot, links);
  await mkdir(join(repoDir, 'refs'), { recursive: true });
  if (revision !== info.sha) await writeAtomically(join(repoDir, 'refs', revision), info.sha);
  options.onProgress?.({ file: '', downloadedBytes: totalBytes, totalBytes, fraction: 1 });
  log.info({ snapshot }, 'model downloaded');
  return snapshot;
}

const STAGING_MARK = '.incomplete-';

/** Links `file` in `dir` to `blob` (a copy where the file system has no symlinks), atomically. */
async function linkInto(dir: string, file: string, blob: string): Promise<void> {
  const target = join(dir, file);
  await mkdir(dirname(target), { recursive: true });
  const link = `${target}.${process.pid}.tmp`;
  await rm(link, { force: true });
  try {
    await symlink(relative(dirname(target), blob), link);
  } catch {
    // File systems without symlinks get a copy, as huggingface_hub does on Windows.
    await writeFile(link, await readFile(blob));
  }
  await rename(link, target);
}

/**
 * Puts the links of a finished download into `snapshot`. A new snapshot is built beside it under
 * a dot name and renamed into place, so it appears whole or not at all. Into an existing one (another
 * variant of the same commit) the graphs go last: a graph is what makes a variant visible, and by
 * then its external data and the configuration are in place.
 */
async function publishSnapshot(snapshot: string, links: ReadonlyArray<{ file: string; blob: string }>) {
  const graphsLast = [...links].sort(
    (a, b) => Number(a.file.endsWith('.onnx')) - Number(b.file.endsWith('.onnx')),
  );
  if ((await sizeOf(snapshot)) === undefined) {
    const staging = join(
      dirname(snapshot),
      `.${basename(snapshot)}${STAGING_MARK}${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    try {
      for (const { file, blob } of graphsLast) await linkInto(staging, file, blob);
      await rename(staging, snapshot);
      return;
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      // Another download of the same commit published first: add our files to its snapshot.
      if ((await sizeOf(snapshot)) === undefined) throw error;
    }
  }
  for (const { file, blob } of graphsLast) {
    const size = await sizeOf(join(snapshot, file));
    if (size === undefined || size !== (await sizeOf(blob))) await linkInto(snapshot, file, blob);
  }
}

/** Removes snapshot staging folders left by downloads whose process is gone (killed mid-way). */
async function removeDeadStagingDirs(snapshots: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(snapshots);
  } catch {
    return;
  }
  for (const name of names) {
    const mark = name.indexOf(STAGING_MARK);
    if (!name.startsWith('.') || mark < 0) continue;
    const pid = Number.parseInt(name.slice(mark + STAGING_MARK.length), 10);
    if (pid === process.pid || (Number.isInteger(pid) && isAlive(pid))) continue;
    await rm(join(snapshots, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
