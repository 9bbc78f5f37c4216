import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { ToolError } from './errors.js';
import {
  GREP_MAX_FILE_BYTES,
  type GrepBackend,
  type GrepFileResult,
  type GrepLine,
  type GrepQuery,
  type GrepSearchResult,
} from './grep-backend.js';
import { walkFiles } from './walk-files.js';

/** A glob filter with ripgrep's `--glob` meaning: without `/` it matches file names at any depth. */
export function createGlobFilter(glob: string | undefined): (relativePath: string) => boolean {
  if (!glob) return () => true;
  const negated = glob.startsWith('!');
  const body = negated ? glob.slice(1) : glob;
  const matcher = picomatch(body, { dot: true });
  const byName = !body.includes('/');
  return (relativePath) => {
    const subject = byName ? path.posix.basename(relativePath) : relativePath;
    return matcher(subject) !== negated;
  };
}

function compile(query: GrepQuery): RegExp {
  try {
    return new RegExp(query.pattern, query.ignoreCase ? 'i' : '');
  } catch (error) {
    throw new ToolError(
      'grep_invalid_pattern',
      `The regular expression ${JSON.stringify(query.pattern)} is invalid: ${(error as Error).message}. ` +
        'Escape special characters such as ( ) [ ] { } . * + ? with a backslash to search for them literally.',
      { cause: error },
    );
  }
}

/** Searches one file's lines; returns the lines to show and whether the result cap was reached. */
function searchLines(
  lines: readonly string[],
  regex: RegExp,
  query: GrepQuery,
  remaining: number,
): { result: Omit<GrepFileResult, 'path'>; capped: boolean } {
  const out: GrepLine[] = [];
  let matchCount = 0;
  let emittedThrough = 0; // 1-based number of the last line put into `out`
  let afterContextUntil = 0;
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const text = lines[index]!;
    if (regex.test(text)) {
      if (query.mode !== 'content') {
        matchCount++;
        if (query.mode === 'files') break;
        continue;
      }
      if (matchCount === remaining) return { result: { matchCount, lines: out }, capped: true };
      const from = Math.max(emittedThrough + 1, lineNumber - query.contextLines);
      for (let before = from; before < lineNumber; before++) {
        out.push({ lineNumber: before, text: lines[before - 1]!, isMatch: false });
      }
      out.push({ lineNumber, text, isMatch: true });
      emittedThrough = lineNumber;
      afterContextUntil = lineNumber + query.contextLines;
      matchCount++;
    } else if (query.mode === 'content' && lineNumber <= afterContextUntil) {
      out.push({ lineNumber, text, isMatch: false });
      emittedThrough = lineNumber;
    }
  }
  return { result: { matchCount, lines: out }, capped: false };
}

async function* filesToSearch(query: GrepQuery): AsyncGenerator<string> {
  const stats = await stat(query.root).catch(() => undefined);
  if (stats?.isFile()) {
    yield query.root;
    return;
  }
  const filter = createGlobFilter(query.glob);
  for await (const file of walkFiles(query.root, { ...(query.signal ? { signal: query.signal } : {}) })) {
    if (filter(file.relativePath)) yield file.path;
  }
}

/**
 * The JavaScript grep backend: runs everywhere, used when ripgrep cannot be found. JavaScript regular
 * expression syntax.
 */
export function createJavaScriptGrepBackend(): GrepBackend {
  return {
    name: 'javascript',
    async search(query: GrepQuery): Promise<GrepSearchResult> {
      const regex = compile(query);
      const files: GrepFileResult[] = [];
      let total = 0;
      for await (const file of filesToSearch(query)) {
        query.signal?.throwIfAborted();
        const stats = await stat(file).catch(() => undefined);
        if (!stats || stats.size > GREP_MAX_FILE_BYTES) continue;
        const buffer = await readFile(file).catch(() => undefined);
        if (!buffer || buffer.subarray(0, 8192).includes(0)) continue;
        const lines = buffer.toString('utf8').split('\n');
        if (lines.at(-1) === '') lines.pop();
        for (let index = 0; index < lines.length; index++) {
          if (lines[index]!.endsWith('\r')) lines[index] = lines[index]!.slice(0, -1);
        }
        if (query.mode !== 'content' && total === query.maxResults) {
          if (lines.some((line) => regex.test(line))) return { files, truncated: true };
          continue;
        }
        const { result, capped } = searchLines(lines, regex, query, query.maxResults - total);
        if (result.matchCount > 0) {
          files.push({ path: file, ...result });
          total += query.mode === 'content' ? result.matchCount : 1;
        }
        if (capped) return { files, truncated: true };
      }
      return { files, truncated: false };
    },
  };
}
