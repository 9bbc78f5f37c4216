/** A shell command split into the simple commands a permission rule is matched against. */
export interface SplitCommand {
  /** Each simple command, trimmed, with runs of whitespace folded to one space. */
  segments: string[];
  /**
   * The command runs text that cannot be matched ahead of time: `$(…)`, backticks or `<(…)`. Only a
   * rule that allows any command can allow it.
   */
  hasSubstitution: boolean;
}

/**
 * Splits a shell command at unquoted `&&`, `||`, `;`, `|`, `&` and newlines, so `npm test && rm -rf ~`
 * is two commands and a rule for `npm test*` cannot allow the second.
 */
export function splitShellCommand(command: string): SplitCommand {
  const segments: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let hasSubstitution = false;
  const push = () => {
    const segment = current.trim().replace(/\s+/g, ' ');
    if (segment !== '') segments.push(segment);
    current = '';
  };

  for (let index = 0; index < command.length; index++) {
    const char = command[index]!;
    const next = command[index + 1];
    if (quote === "'") {
      current += char;
      if (char === "'") quote = undefined;
      continue;
    }
    if (char === '\\' && next !== undefined) {
      current += char + next;
      index++;
      continue;
    }
    if (char === '`' || (char === '$' && next === '(')) hasSubstitution = true;
    if (quote === '"') {
      current += char;
      if (char === '"') quote = undefined;
      continue;
    }
    if ((char === '<' || char === '>') && next === '(') hasSubstitution = true;
    if (char === '"' || char === "'") {
      quote = char;
      current += char;
      continue;
    }
    if (char === '\n' || char === ';') {
      push();
      continue;
    }
    if (char === '&' && next === '&') {
      push();
      index++;
      continue;
    }
    if (char === '|' && next === '|') {
      push();
      index++;
      continue;
    }
    if (char === '|') {
      push();
      continue;
    }
    // `&` alone sends a command to the background, but `2>&1` and `&>` are redirections.
    if (char === '&' && command[index - 1] !== '>' && next !== '>') {
      push();
      continue;
    }
    current += char;
  }
  push();
  return { segments, hasSubstitution };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Whether one simple command matches a Bash rule's pattern. `git status` matches exactly that command;
 * `npm test*` matches any command starting with `npm test`; `npm test:*` (Claude Code's form) matches
 * `npm test` alone or followed by arguments, but not `npm tests`. `*` elsewhere matches any text.
 * Whitespace runs compare equal.
 *
 * @example
 * ```ts
 * commandPatternMatches('npm test*', 'npm test -- --watch'); // true
 * commandPatternMatches('git status', 'git status --short'); // false
 * ```
 */
export function commandPatternMatches(pattern: string, command: string): boolean {
  const normalizedPattern = pattern.trim().replace(/\s+/g, ' ');
  const normalizedCommand = command.trim().replace(/\s+/g, ' ');
  if (normalizedPattern === '*') return true;
  if (normalizedPattern.endsWith(':*')) {
    const prefix = normalizedPattern.slice(0, -2).trimEnd();
    return normalizedCommand === prefix || normalizedCommand.startsWith(`${prefix} `);
  }
  const source = normalizedPattern.split('*').map(escapeRegExp).join('.*');
  return new RegExp(`^${source}$`, 's').test(normalizedCommand);
}

/**
 * The pattern offered when a user allows a command "always": the program and, when the next word looks
 * like a subcommand, that word, then `*`: `git status --short` → `git status*`, `ls -la` → `ls*`.
 */
export function suggestCommandPattern(segment: string): string {
  const words = segment.trim().split(/\s+/);
  const [program, subcommand] = words;
  if (program === undefined || program === '') return segment;
  if (subcommand !== undefined && /^[A-Za-z][\w.:-]*$/.test(subcommand)) return `${program} ${subcommand}*`;
  return `${program}*`;
}
