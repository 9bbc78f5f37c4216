/** What a grep backend searches for. */
export interface GrepQuery {
  /** A regular expression (ripgrep's syntax; the JavaScript backend uses JavaScript's). */
  pattern: string;
  /** Absolute path of the directory or file to search. */
  root: string;
  /** Only files matching this glob (`*.ts`, `src/**`; a leading `!` excludes). Without `/` it matches names. */
  glob?: string;
  ignoreCase: boolean;
  /** Lines of context before and after each match (content mode). */
  contextLines: number;
  /** `content`: matching lines; `files`: names of files with a match; `count`: matching lines per file. */
  mode: 'content' | 'files' | 'count';
  /** Most matching lines (content mode) or files (other modes) to return. */
  maxResults: number;
  signal?: AbortSignal;
}

/** One line of a grep result. */
export interface GrepLine {
  lineNumber: number;
  text: string;
  /** A matching line, or a context line around one. */
  isMatch: boolean;
}

/** The matches in one file. */
export interface GrepFileResult {
  /** Absolute path. */
  path: string;
  /** Matching lines in the file (in content mode, those returned). */
  matchCount: number;
  /** Matching and context lines, in content mode only. */
  lines: GrepLine[];
}

/** What a search found. */
export interface GrepSearchResult {
  files: GrepFileResult[];
  /** More results exist than `maxResults` allowed. */
  truncated: boolean;
}

/**
 * A way to search file contents: ripgrep when it can be found, else a JavaScript implementation. Both
 * honour `.gitignore`, skip hidden and binary files and files over 10 MB, and return files in path order.
 */
export interface GrepBackend {
  readonly name: 'ripgrep' | 'javascript';
  search(query: GrepQuery): Promise<GrepSearchResult>;
}

/** Files larger than this are not searched. */
export const GREP_MAX_FILE_BYTES = 10 * 1024 * 1024;
