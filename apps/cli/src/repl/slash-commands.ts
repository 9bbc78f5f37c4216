/** A slash command, for /help and Tab completion. */
export interface SlashCommandInfo {
  name: string;
  aliases?: readonly string[];
  usage: string;
  summary: string;
}

/** The REPL's slash commands. */
export const SLASH_COMMANDS: readonly SlashCommandInfo[] = [
  { name: 'help', usage: '/help', summary: 'commands and keys' },
  {
    name: 'local',
    usage: '/local [question]',
    summary: 'ask the local model (this question, or every question until /model auto)',
  },
  {
    name: 'teacher',
    usage: '/teacher [question]',
    summary: 'ask a teacher (this question, or every question until /model auto)',
  },
  {
    name: 'model',
    usage: '/model [name]',
    summary: 'list models, or use one: auto, local, a teacher, or a downloaded local model',
  },
  {
    name: 'plan',
    usage: '/plan [task]',
    summary: 'plan mode: research read-only, then approve a numbered plan',
  },
  {
    name: 'feedback',
    usage: '/feedback good|improve|critical [correction]',
    summary: 'rate the last answer (feeds learning and the training queue)',
  },
  { name: 'good', usage: '/good', summary: 'same as /feedback good' },
  {
    name: 'medium',
    aliases: ['improve'],
    usage: '/medium [correction]',
    summary: 'same as /feedback improve',
  },
  { name: 'critical', usage: '/critical [correction]', summary: 'same as /feedback critical' },
  { name: 'clear', usage: '/clear', summary: 'start a new conversation' },
  { name: 'history', usage: '/history [n]', summary: 'your last n inputs (default 20)' },
  {
    name: 'status',
    aliases: ['metrics'],
    usage: '/status',
    summary: 'backend, models, daemon, tokens and cost',
  },
  { name: 'patterns', usage: '/patterns', summary: 'the permission rules in force' },
  {
    name: 'mcp',
    usage: '/mcp [restart <server>]',
    summary: 'MCP servers, their state and tools (shammah mcp add/rm edits them)',
  },
  {
    name: 'memory',
    usage: '/memory [edit]',
    summary: 'the instruction files in the prompt (AGENTS.md, CLAUDE.md, yours); edit opens yours',
  },
  { name: 'exit', aliases: ['quit', 'q'], usage: '/exit', summary: 'leave (also /quit, Ctrl-D)' },
];

/** The keys, for /help. */
export const KEY_HELP: ReadonlyArray<[string, string]> = [
  ['Enter', 'send'],
  ['Shift+Enter, Alt+Enter, Ctrl+J, or \\ at line end', 'new line'],
  ['Up / Down', 'previous / next input (history.txt keeps 1,000)'],
  ['Tab', 'complete a slash command'],
  ['Shift+Tab', 'toggle plan mode'],
  ['PageUp / PageDown', 'scroll the conversation'],
  ['Ctrl+C', 'cancel the answer; twice to exit'],
  ['Ctrl+D', 'exit (on an empty input)'],
  ['Ctrl+L', 'redraw'],
];

/** A parsed slash command. */
export interface SlashCommand {
  /** The canonical name (aliases resolved); the typed name when unknown. */
  name: string;
  args: string;
  known: boolean;
}

/** Parses `/name args`; undefined for text that is not a command (`/path/to/file` is not). */
export function parseSlashCommand(text: string): SlashCommand | undefined {
  const match = /^\/([a-z][\w-]*)(?:\s+([\s\S]*))?$/i.exec(text.trim());
  if (!match) return undefined;
  const typed = match[1]!.toLowerCase();
  const info = SLASH_COMMANDS.find((command) => command.name === typed || command.aliases?.includes(typed));
  return { name: info?.name ?? typed, args: (match[2] ?? '').trim(), known: info !== undefined };
}

/** Commands whose name starts with what was typed after the slash. */
export function completeSlashCommand(text: string): string[] {
  const match = /^\/([\w-]*)$/.exec(text);
  if (!match) return [];
  const prefix = match[1]!.toLowerCase();
  return SLASH_COMMANDS.flatMap((command) => [command.name, ...(command.aliases ?? [])])
    .filter((name) => name.startsWith(prefix))
    .map((name) => `/${name}`);
}

/** The /help text. */
export function helpText(): string {
  const width = 22;
  const row = (left: string, right: string) =>
    left.length <= width ? `  ${left.padEnd(width)}  ${right}` : `  ${left}\n  ${''.padEnd(width)}  ${right}`;
  return [
    'Commands:',
    ...SLASH_COMMANDS.map((command) => row(command.usage, command.summary)),
    '',
    'Keys:',
    ...KEY_HELP.map(([key, action]) => row(key, action)),
  ].join('\n');
}
