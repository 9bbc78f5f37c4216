import { parseArgs } from 'node:util';

/** The command line, parsed. */
export interface CliArguments {
  command:
    | 'repl'
    | 'ask'
    | 'setup'
    | 'config'
    | 'models'
    | 'daemon'
    | 'lora'
    | 'mcp'
    | 'sessions'
    | 'help'
    | 'version';
  /** The rest of the positionals after a subcommand (`models pull <repo>` → ['pull', '<repo>']). */
  rest: string[];
  /** The question, for `ask`. */
  question: string;
  flags: {
    model?: string;
    variant?: string;
    local?: boolean;
    teacher?: boolean;
    maxTokens?: number;
    json?: boolean;
    print?: boolean;
    raw?: boolean;
    direct?: boolean;
    initialPrompt?: string;
    /** A session id (or its start), `latest` (`--continue`) or `pick` (`--resume` without an id). */
    restoreSession?: string;
    debug?: boolean;
    tools?: boolean;
    bind?: string;
    lines?: number;
    follow?: boolean;
    yes?: boolean;
  };
}

/** A command line Shammah cannot make sense of; the message says what to type instead. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'usage';
}

/** `shammah --help`. */
export const USAGE = `Usage:
  shammah                          the interactive REPL
  shammah "question"               answer once and exit (also: shammah query "question")
  echo "question" | shammah -p     answer a question from standard input
  shammah setup                    the setup wizard (teachers, local model, permissions)
  shammah config [show|path|get <key>|set <key> <value>]
  shammah models [list|pull <repo>|rm <repo>]
  shammah daemon [start|stop|status|restart|logs]
  shammah lora [list|train|use <version>|rollback]   adapters trained on your feedback
  shammah mcp [list|add <name> -- <command>…|add <name> --url <url>|rm <name>]
  shammah sessions [list|rm <id>]  saved conversations (continue one with --resume <id>)

Options:
  --model <repo|dir>       the local model (loads it in this process)
  --variant <name>         its ONNX variant: auto, q4, int8, fp32 (default: [backend] variant)
  --local, --teacher       send questions to the local model / to the teachers
  --direct                 no daemon: run the model in this process
  -p, --print              answer once (the question from the arguments or standard input)
  --json                   answer once as one JSON object
  --max-tokens <n>         longest answer in tokens
  --no-tools               offer the model no tools
  --raw, --no-tui          a plain line-by-line REPL instead of the full-screen one
  --initial-prompt <text>  send this as soon as the REPL is up
  -r, --resume [id]        continue a saved session (without an id: pick one from a list)
  -c, --continue           continue the latest session of this directory
  --debug                  log everything to ~/.shammah/cli.log
  -h, --help               this help
  -v, --version            the version

Environment: SHAMMAH_HOME (default ~/.shammah), HF_HOME / HF_HUB_CACHE (the model cache),
ANTHROPIC_API_KEY and other providers' keys.`;

const SUBCOMMANDS = new Set([
  'setup',
  'config',
  'models',
  'daemon',
  'lora',
  'mcp',
  'sessions',
  'help',
  'version',
]);
const ALIASES: Record<string, [CliArguments['command'], string[]]> = {
  'daemon-start': ['daemon', ['start']],
  'daemon-stop': ['daemon', ['stop']],
  'daemon-status': ['daemon', ['status']],
  model: ['models', []],
};

/** Parses the command line (without `node` and the script). */
export function parseCliArguments(argv: readonly string[]): CliArguments {
  // `config set <key> <value>` takes values that look like flags (`-5`): nothing after `config` is a flag.
  if (argv[0] === 'config' && !argv.includes('--help') && !argv.includes('-h')) {
    return { command: 'config', rest: argv.slice(1), question: '', flags: {} };
  }
  // `lora` and `mcp` parse their own options (`mcp add` passes a whole command line after `--`).
  if (argv[0] === 'lora' || argv[0] === 'mcp') {
    return { command: argv[0], rest: argv.slice(1), question: '', flags: {} };
  }
  const resume = takeResume(argv);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(resume.argv);
  } catch (error) {
    throw new UsageError(`${(error as Error).message}. Run shammah --help for the options.`);
  }
  const { values, positionals } = parsed;
  const maxTokens = values['max-tokens'] === undefined ? undefined : Number(values['max-tokens']);
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens > 0)) {
    throw new UsageError(`--max-tokens must be a positive whole number, not "${values['max-tokens']}".`);
  }
  const lines = values.lines === undefined ? undefined : Number(values.lines);
  if (lines !== undefined && !(Number.isInteger(lines) && lines > 0)) {
    throw new UsageError(`--lines must be a positive whole number, not "${values.lines}".`);
  }
  if (values.local && values.teacher) throw new UsageError('Use --local or --teacher, not both.');
  const flags: CliArguments['flags'] = {
    ...(values.model ? { model: values.model } : {}),
    ...(values.variant ? { variant: values.variant } : {}),
    ...(values.local ? { local: true } : {}),
    ...(values.teacher ? { teacher: true } : {}),
    ...(maxTokens ? { maxTokens } : {}),
    ...(values.json ? { json: true } : {}),
    ...(values.print ? { print: true } : {}),
    ...(values.raw || values['no-tui'] ? { raw: true } : {}),
    ...(values.direct ? { direct: true } : {}),
    ...(values['initial-prompt'] ? { initialPrompt: values['initial-prompt'] } : {}),
    ...(resume.session || values['restore-session'] || values.continue
      ? { restoreSession: resume.session ?? values['restore-session'] ?? 'latest' }
      : {}),
    ...(values.debug ? { debug: true } : {}),
    ...(values['no-tools'] ? { tools: false } : {}),
    ...(values.bind ? { bind: values.bind } : {}),
    ...(lines ? { lines } : {}),
    ...(values.follow ? { follow: true } : {}),
    ...(values.yes ? { yes: true } : {}),
  };
  if (values.help) return { command: 'help', rest: [], question: '', flags };
  if (values.version) return { command: 'version', rest: [], question: '', flags };
  const [first, ...rest] = positionals;
  if (first !== undefined && ALIASES[first]) {
    const [command, prefix] = ALIASES[first];
    return { command, rest: [...prefix, ...rest], question: '', flags };
  }
  if (first !== undefined && SUBCOMMANDS.has(first)) {
    return { command: first as CliArguments['command'], rest, question: '', flags };
  }
  if (first === 'query') return { command: 'ask', rest: [], question: rest.join(' ').trim(), flags };
  const question = positionals.join(' ').trim();
  if (question || values.print || values.json) return { command: 'ask', rest: [], question, flags };
  return { command: 'repl', rest: [], question: '', flags };
}

const SESSION_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * Takes `--resume [id]` / `-r [id]` / `--resume=<id>` out of the arguments: its value is optional, which
 * `parseArgs` cannot express. The next argument is the id when it looks like one (no spaces, no dash
 * first); otherwise `pick`.
 */
function takeResume(argv: readonly string[]): { argv: string[]; session?: string } {
  const rest: string[] = [];
  let session: string | undefined;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--') {
      rest.push(...argv.slice(index));
      break;
    }
    if (arg.startsWith('--resume=')) {
      session = arg.slice('--resume='.length) || 'pick';
    } else if (arg === '--resume' || arg === '-r') {
      const next = argv[index + 1];
      if (next !== undefined && SESSION_ID.test(next)) {
        session = next;
        index++;
      } else session = 'pick';
    } else rest.push(arg);
  }
  return { argv: rest, ...(session ? { session } : {}) };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      variant: { type: 'string' },
      local: { type: 'boolean' },
      teacher: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      json: { type: 'boolean' },
      print: { type: 'boolean', short: 'p' },
      raw: { type: 'boolean' },
      'no-tui': { type: 'boolean' },
      direct: { type: 'boolean' },
      'initial-prompt': { type: 'string' },
      'restore-session': { type: 'string' },
      continue: { type: 'boolean', short: 'c' },
      debug: { type: 'boolean' },
      'no-tools': { type: 'boolean' },
      bind: { type: 'string' },
      lines: { type: 'string', short: 'n' },
      follow: { type: 'boolean', short: 'f' },
      yes: { type: 'boolean', short: 'y' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
}
