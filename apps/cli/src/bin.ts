// The `shammah` command. Only argument parsing and the instant frame are loaded up front (the
// build bundles them with this file into dist/bin.cjs, scripts/bundle-entry.ts): everything else is
// imported when its command runs, so the REPL draws its prompt at once and loads the model behind it.
import { readFileSync } from 'node:fs';
import { type CliArguments, parseCliArguments, USAGE, UsageError } from './cli-arguments.js';
import { drawInstantFrame } from './tui/instant-frame.js';

/** When this script began to run, after Node's own start-up (for the time-to-prompt benchmark). */
const scriptStartedAt = performance.now();

function readStdin(): string {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

/** Reads `tui_enabled = false` from config.toml without loading the config machinery (it is slow). */
function tuiDisabledInConfig(): boolean {
  const home = process.env.SHAMMAH_HOME || `${process.env.HOME ?? ''}/.shammah`;
  try {
    const text = readFileSync(`${home}/config.toml`, 'utf8');
    const topLevel = text.split(/^\s*\[/m)[0] ?? '';
    return /^\s*tui_enabled\s*=\s*false\b/m.test(topLevel);
  } catch {
    return false;
  }
}

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

async function ask(args: CliArguments): Promise<number> {
  let question = args.question;
  if (!question && !process.stdin.isTTY) question = readStdin().trim();
  if (!question) {
    throw new UsageError(
      'No question given. Pass it as an argument (shammah "…") or on standard input (… | shammah -p).',
    );
  }
  const { answerOnce } = await import('./one-shot.js');
  const controller = new AbortController();
  const onSigint = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    return await answerOnce({
      question,
      ...(args.flags.model ? { model: args.flags.model } : {}),
      ...(args.flags.variant ? { variant: args.flags.variant } : {}),
      ...(args.flags.maxTokens ? { maxTokens: args.flags.maxTokens } : {}),
      ...(args.flags.json ? { json: true } : {}),
      ...(args.flags.local
        ? { force: 'local' as const }
        : args.flags.teacher
          ? { force: 'teacher' as const }
          : {}),
      ...(args.flags.direct ? { direct: true } : {}),
      ...(args.flags.tools === false ? { tools: false } : {}),
      ...(args.flags.debug ? { debug: true } : {}),
      ...(args.flags.restoreSession ? { restoreSession: args.flags.restoreSession } : {}),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
}

async function repl(args: CliArguments): Promise<number> {
  const { flags } = args;
  const options = {
    cwd: process.cwd(),
    ...(flags.model ? { model: flags.model, direct: true } : {}),
    ...(flags.variant ? { variant: flags.variant } : {}),
    ...(flags.direct ? { direct: true } : {}),
    ...(flags.debug ? { debug: true } : {}),
    ...(flags.tools === false ? { tools: false } : {}),
    ...(flags.local ? { force: 'local' as const } : flags.teacher ? { force: 'teacher' as const } : {}),
    ...(flags.initialPrompt ? { initialPrompt: flags.initialPrompt } : {}),
    ...(flags.restoreSession ? { restoreSession: flags.restoreSession } : {}),
  };
  const plain = flags.raw || !process.stdout.isTTY || process.env.TERM === 'dumb' || tuiDisabledInConfig();
  if (plain) {
    const { runPlainRepl } = await import('./repl/plain-repl.js');
    return runPlainRepl(options);
  }
  // The prompt first, the UI library behind it (it takes a few hundred milliseconds to load).
  if (process.stdin.isTTY) process.stdin.setRawMode(true);
  const instant = drawInstantFrame();
  const instantFrameAt = performance.now();
  let runTui: typeof import('./tui/tui-app.js').runTui;
  try {
    ({ runTui } = await import('./tui/tui-app.js'));
  } catch (error) {
    instant.undo();
    if (process.stdin.isTTY) process.stdin.setRawMode(false);
    throw error;
  }
  return runTui({
    ...options,
    instantFrameAt,
    scriptStartedAt,
    ...(process.env.SHAMMAH_TIME_TO_PROMPT_FILE
      ? { timeToPromptFile: process.env.SHAMMAH_TIME_TO_PROMPT_FILE }
      : {}),
  });
}

async function main(): Promise<number> {
  const args = parseCliArguments(process.argv.slice(2));
  switch (args.command) {
    case 'help':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    case 'version':
      process.stdout.write(`shammah ${version()}\n`);
      return 0;
    case 'ask':
      return ask(args);
    case 'repl':
      // Piped input with no question: answer it once, for scripts.
      if (!process.stdin.isTTY) return ask(args);
      return repl(args);
    case 'setup': {
      const { runSetup } = await import('./commands/setup.js');
      return runSetup(args);
    }
    case 'config': {
      const { runConfigCommand } = await import('./commands/config-command.js');
      return runConfigCommand(args.rest);
    }
    case 'models': {
      const { runModelsCommand } = await import('./commands/models-command.js');
      return runModelsCommand(args.rest, args.flags);
    }
    case 'daemon': {
      const { runDaemonCommand } = await import('./commands/daemon-command.js');
      return runDaemonCommand(args.rest, args.flags);
    }
    case 'lora': {
      const { runLoraCommand } = await import('./commands/lora-command.js');
      return runLoraCommand(args.rest);
    }
    case 'mcp': {
      const { runMcpCommand } = await import('./commands/mcp-command.js');
      return runMcpCommand(args.rest);
    }
    case 'sessions': {
      const { runSessionsCommand } = await import('./commands/sessions-command.js');
      return runSessionsCommand(args.rest);
    }
  }
}

main().then(
  (code) => {
    process.exitCode = code;
    // The model worker and open handles must not keep a finished command alive.
    if (code !== undefined) setTimeout(() => process.exit(code), 200).unref();
  },
  (error: unknown) => {
    const err = error as Error & { code?: unknown };
    process.stderr.write(`shammah: ${err?.message ?? String(error)}\n`);
    // By code, not instanceof: this entry is bundled, so the commands loaded after it with import()
    // throw their own copy of the UsageError class.
    const usage = err instanceof UsageError || err?.code === 'usage';
    const known = usage || typeof err?.code === 'string';
    if (!known && err?.stack && process.env.SHAMMAH_DEBUG) process.stderr.write(`${err.stack}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
