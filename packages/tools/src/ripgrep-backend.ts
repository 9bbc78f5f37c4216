import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { ToolAbortedError, ToolError } from './errors.js';
import type { GrepBackend, GrepFileResult, GrepQuery, GrepSearchResult } from './grep-backend.js';
import { createGlobFilter } from './javascript-grep-backend.js';

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

let found: Promise<string | undefined> | undefined;

/** Values of `SHAMMAH_RIPGREP` that turn ripgrep off. */
const offValues = new Set(['', '0', 'off', 'none', 'false', 'no']);

/**
 * Where to find ripgrep, for {@link findRipgrep}: `false` never uses it, a string is the binary to use,
 * a function looks it up (resolving to `undefined` when there is none).
 */
export type RipgrepLookup = false | string | (() => Promise<string | undefined>);

/**
 * Reads `SHAMMAH_RIPGREP`: unset gives `undefined` (search as usual); `off`, `none`, `0`, `false` or
 * empty turn ripgrep off; anything else is the path of the binary to use.
 */
export function ripgrepFromEnvironment(
  env: Record<string, string | undefined> = process.env,
): RipgrepLookup | undefined {
  const value = env.SHAMMAH_RIPGREP;
  if (value === undefined) return undefined;
  return offValues.has(value.trim().toLowerCase()) ? false : value.trim();
}

async function explicitBinary(binary: string, source: string): Promise<string> {
  if (await isExecutable(binary)) return binary;
  throw new ToolError(
    'ripgrep_not_found',
    `${source} names ripgrep at "${binary}", but no executable file is there. ` +
      'Point it at an `rg` binary, or set SHAMMAH_RIPGREP=off to use the JavaScript search.',
  );
}

/**
 * Finds a ripgrep binary. An explicit `lookup` wins, then the `SHAMMAH_RIPGREP` environment variable
 * (see {@link ripgrepFromEnvironment}); otherwise `rg` on `PATH` first, then the one the optional
 * `@vscode/ripgrep` package ships (through its per-platform package). Resolves to `undefined` when
 * there is none, and rejects when an explicit path is not an executable. The search of `PATH` and
 * `@vscode/ripgrep` is cached.
 *
 * @example
 * ```ts
 * await findRipgrep(false); // undefined: the JavaScript backend will be used
 * await findRipgrep('/opt/bin/rg'); // '/opt/bin/rg' if it is executable
 * ```
 */
export function findRipgrep(lookup?: RipgrepLookup): Promise<string | undefined> {
  const chosen = lookup ?? ripgrepFromEnvironment();
  if (chosen === false) return Promise.resolve(undefined);
  if (typeof chosen === 'string') {
    return explicitBinary(chosen, lookup === undefined ? 'SHAMMAH_RIPGREP' : 'The ripgrep option');
  }
  if (typeof chosen === 'function') return chosen();
  found ??= (async () => {
    const executable = process.platform === 'win32' ? 'rg.exe' : 'rg';
    for (const directory of (process.env.PATH ?? '').split(path.delimiter)) {
      if (directory === '') continue;
      const candidate = path.join(directory, executable);
      if (await isExecutable(candidate)) return candidate;
    }
    try {
      const { rgPath } = (await import('@vscode/ripgrep')) as { rgPath: string };
      if (await isExecutable(rgPath)) return rgPath;
    } catch {
      // Not installed, or no binary for this platform: the JavaScript backend takes over.
    }
    return undefined;
  })();
  return found;
}

interface RipgrepJsonText {
  text?: string;
  bytes?: string;
}

interface RipgrepMessage {
  type: 'begin' | 'match' | 'context' | 'end' | 'summary';
  data: { path?: RipgrepJsonText; lines?: RipgrepJsonText; line_number?: number };
}

function jsonText(value: RipgrepJsonText | undefined): string {
  if (!value) return '';
  if (value.text !== undefined) return value.text;
  return Buffer.from(value.bytes ?? '', 'base64').toString('utf8');
}

function argumentsFor(query: GrepQuery, pcre: boolean, target: string): string[] {
  const args = [
    '--no-config',
    '--no-require-git',
    '--no-ignore-global',
    '--sort',
    'path',
    '--max-filesize',
    '10M',
    '--color',
    'never',
  ];
  if (pcre) args.push('--pcre2');
  if (query.ignoreCase) args.push('--ignore-case');
  if (query.mode === 'content') args.push('--json', '--context', String(query.contextLines));
  else if (query.mode === 'files') args.push('--files-with-matches', '--null');
  else args.push('--count', '--null', '--with-filename');
  args.push('--regexp', query.pattern, '--', target);
  return args;
}

interface RunOutcome {
  result: GrepSearchResult;
  exitCode: number | null;
  stderr: string;
}

async function run(binary: string, query: GrepQuery, pcre: boolean): Promise<RunOutcome> {
  // ripgrep matches globs containing `/` against paths relative to its working directory, so it runs
  // in the searched directory (or the searched file's) and its relative paths are made absolute here.
  const isFile = (await stat(query.root).catch(() => undefined))?.isFile() ?? false;
  const cwd = isFile ? path.dirname(query.root) : query.root;
  const target = isFile ? path.basename(query.root) : '.';
  const absolute = (relative: string) => path.join(cwd, relative);
  // Not ripgrep's --glob: it overrides .gitignore (a glob would bring ignored files back). The same
  // filter as the JavaScript backend's is applied to ripgrep's paths instead.
  const globFilter = createGlobFilter(query.glob);
  const wanted = (file: string) => globFilter(path.relative(query.root, file).split(path.sep).join('/'));
  return new Promise((resolve, reject) => {
    const child = spawn(binary, argumentsFor(query, pcre, target), {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const files: GrepFileResult[] = [];
    let total = 0;
    let truncated = false;
    let stderr = '';
    let buffered = '';
    let stopped = false;
    const onAbort = () => {
      stopped = true;
      child.kill('SIGKILL');
    };
    query.signal?.addEventListener('abort', onAbort, { once: true });
    const stop = () => {
      truncated = true;
      stopped = true;
      child.kill('SIGKILL');
    };

    const handleRecord = (record: string) => {
      if (stopped || record === '') return;
      if (query.mode === 'content') {
        const message = JSON.parse(record) as RipgrepMessage;
        if (message.type !== 'match' && message.type !== 'context') return;
        const file = absolute(jsonText(message.data.path));
        if (!isFile && !wanted(file)) return;
        const isMatch = message.type === 'match';
        if (isMatch && total === query.maxResults) return stop();
        let current = files.at(-1);
        if (current?.path !== file) {
          current = { path: file, matchCount: 0, lines: [] };
          files.push(current);
        }
        current.lines.push({
          lineNumber: message.data.line_number ?? 0,
          text: jsonText(message.data.lines).replace(/\r?\n$/, ''),
          isMatch,
        });
        if (isMatch) {
          current.matchCount++;
          total++;
        }
        return;
      }
      const file = absolute(query.mode === 'files' ? record : record.slice(0, record.lastIndexOf('\0')));
      if (!isFile && !wanted(file)) return;
      if (total === query.maxResults) return stop();
      if (query.mode === 'files') {
        files.push({ path: absolute(record), matchCount: 1, lines: [] });
      } else {
        const separator = record.lastIndexOf('\0');
        files.push({
          path: absolute(record.slice(0, separator)),
          matchCount: Number(record.slice(separator + 1)),
          lines: [],
        });
      }
      total++;
    };

    // Records end with a newline, except file names in files mode, which end with NUL.
    const separator = query.mode === 'files' ? '\0' : '\n';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let index = buffered.indexOf(separator);
      while (index !== -1) {
        const record = buffered.slice(0, index);
        buffered = buffered.slice(index + 1);
        handleRecord(query.mode === 'files' ? record.replace(/^\n/, '') : record);
        index = buffered.indexOf(separator);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 10_000) stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (exitCode) => {
      query.signal?.removeEventListener('abort', onAbort);
      if (query.signal?.aborted) return reject(new ToolAbortedError('Grep'));
      if (!stopped) handleRecord(buffered.replace(/^\n/, ''));
      resolve({ result: { files, truncated }, exitCode: stopped ? 0 : exitCode, stderr });
    });
  });
}

/**
 * The ripgrep grep backend: fast, and what users of coding assistants expect. Falls back to PCRE2
 * syntax when a pattern needs it (look-around, back-references).
 */
export function createRipgrepBackend(binary: string): GrepBackend {
  return {
    name: 'ripgrep',
    async search(query: GrepQuery): Promise<GrepSearchResult> {
      let outcome = await run(binary, query, false);
      if (outcome.exitCode === 2 && /regex parse error|look-?around|backreferences/i.test(outcome.stderr)) {
        const retry = await run(binary, query, true);
        if (retry.exitCode !== 2) outcome = retry;
      }
      if (outcome.exitCode === 2 && outcome.result.files.length === 0) {
        const message = outcome.stderr.trim();
        const isPattern = /regex|pattern|parse error/i.test(message);
        throw new ToolError(
          isPattern ? 'grep_invalid_pattern' : 'grep_failed',
          isPattern
            ? `The regular expression ${JSON.stringify(query.pattern)} is invalid:\n${message}\n` +
                'Escape special characters such as ( ) [ ] { } . * + ? with a backslash to search for them literally.'
            : `ripgrep failed: ${message}`,
        );
      }
      return outcome.result;
    },
  };
}
