import { join } from 'node:path';
import {
  ConfigError,
  loadConfig,
  parseConfig,
  type ShammahConfig,
  type ShammahPaths,
  shammahPaths,
} from '@shammah/config';
import type { Logger } from '@shammah/provider';
import {
  createSessionStore,
  loadProjectInstructions,
  type ProjectInstructions,
  type Session,
  type SessionStore,
} from '@shammah/session';
import {
  type AnyTool,
  type AskUser,
  appendPermissionRules,
  createAskUserQuestionTool,
  createCodingTools,
  createPermissionPolicy,
  createPresentPlanTool,
  formatPermissionRule,
  type McpManager,
  type PermissionAsk,
  type PermissionPolicy,
  type PermissionRule,
  type ReviewPlan,
  readPermissionRules,
} from '@shammah/tools';
import type { Backend } from './backend/backend.js';
import { connectBackend } from './backend/connect.js';
import { createLogger } from './logger.js';
import { startMcpServers } from './mcp-servers.js';
import { Conversation, defaultSystemPrompt } from './session/conversation.js';

/** How the CLI was asked to run. */
export interface RuntimeOptions {
  cwd: string;
  /** `--model`: the local model. */
  model?: string;
  /** `--variant`: the local model's ONNX variant. */
  variant?: string;
  /** `--direct`: no daemon, answer in this process. */
  direct?: boolean;
  /** `--debug`: log everything to cli.log. */
  debug?: boolean;
  /** Asks the user about a tool call; without it, calls that need asking are denied. */
  ask?: PermissionAsk;
  /** Something the user should know (a bad config, a fallback to in-process). */
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void;
  /** Something changed that the status bar shows (the model finished loading). */
  onChange?: () => void;
  /** Tools on (default) or off for this run. */
  tools?: boolean;
  /** Shows AskUserQuestion's question and returns the answer; without it the model is told no one can answer. */
  askUser?: AskUser;
  /** Shows PresentPlan's plan for approval; without it the model is told to describe the plan instead. */
  reviewPlan?: ReviewPlan;
}

/** Everything a REPL or a one-shot answer runs on. */
export interface Runtime {
  config: ShammahConfig;
  paths: ShammahPaths;
  logger: Logger;
  tools: readonly AnyTool[];
  permissions: PermissionPolicy;
  backend: Backend;
  conversation: Conversation;
  /** The MCP servers of config.toml (undefined when none are configured or tools are off), for `/mcp`. */
  mcp?: McpManager;
  /** The instruction files in the system prompt (constitution.md, AGENTS.md, CLAUDE.md), for `/memory`. */
  instructions: ProjectInstructions;
  /** Reads the instruction files again (after `/memory edit`) and puts them into the system prompt. */
  reloadInstructions(): Promise<ProjectInstructions>;
  /** The saved sessions in `sessions/`. */
  sessions: SessionStore;
  /** This conversation's saved session (replaced when another is resumed). */
  session: Session;
  close(): Promise<void>;
}

/** Reads config.toml, reporting a broken file and carrying on with the defaults. */
export async function readConfigOrDefaults(onNotice?: RuntimeOptions['onNotice']): Promise<ShammahConfig> {
  try {
    return await loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      onNotice?.(`${error.message}\nUsing the defaults until it is fixed (shammah config path).`, 'error');
      return parseConfig('');
    }
    throw error;
  }
}

/**
 * The system prompt: Shammah's short default, then the user's constitution.md and the project's
 * AGENTS.md / CLAUDE.md files (from the repository root down to `cwd`), each under a header.
 */
async function systemPrompt(
  paths: ShammahPaths,
  cwd: string,
  logger: Logger,
): Promise<{ text: string; instructions: ProjectInstructions }> {
  const instructions = await loadProjectInstructions({ cwd, constitutionPath: paths.constitution, logger });
  return {
    text: [defaultSystemPrompt(cwd), instructions.text].filter(Boolean).join('\n\n'),
    instructions,
  };
}

/**
 * Loads the config, the tools and permission rules, connects to the daemon (or starts the model in
 * this process) and opens a conversation.
 */
export async function createRuntime(options: RuntimeOptions): Promise<Runtime> {
  const paths = shammahPaths();
  const config = await readConfigOrDefaults(options.onNotice);
  const logger = await createLogger(paths.home, options.debug || config.features.debug_logging);
  const tools =
    options.tools === false
      ? []
      : [
          ...createCodingTools({ restart: false }),
          createAskUserQuestionTool(options.askUser ? { ask: options.askUser } : {}),
          createPresentPlanTool(options.reviewPlan ? { review: options.reviewPlan } : {}),
        ];

  const savedRules = await readPermissionRules(paths.toolPatterns).catch((error: Error) => {
    options.onNotice?.(`${error.message} Its rules are ignored.`, 'warn');
    return [] as PermissionRule[];
  });
  const projectRules = await readPermissionRules(join(options.cwd, '.shammah', 'permissions.json')).catch(
    (error: Error) => {
      options.onNotice?.(`${error.message} Its rules are ignored.`, 'warn');
      return [] as PermissionRule[];
    },
  );
  const configRules: PermissionRule[] = config.permissions.map((rule) => ({
    tool: rule.tool,
    ...(rule.pattern && rule.pattern !== '*' ? { pattern: rule.pattern } : {}),
    action: rule.action,
  }));
  const permissions = createPermissionPolicy({
    projectRoot: options.cwd,
    userRules: [
      ...(config.features.auto_approve_tools ? [{ tool: '*', action: 'allow' as const }] : []),
      ...configRules,
      ...savedRules,
    ],
    projectRules,
    ...(options.ask ? { ask: options.ask } : {}),
    onRulesAdded: async (rules) => {
      try {
        await appendPermissionRules(paths.toolPatterns, rules);
        options.onNotice?.(
          `Saved ${rules.map(formatPermissionRule).join(', ')} to ${paths.toolPatterns}.`,
          'info',
        );
      } catch (error) {
        options.onNotice?.(`Could not save the rule: ${(error as Error).message}`, 'error');
      }
    },
    logger,
  });

  const backend = await connectBackend({
    config,
    paths,
    tools,
    logger,
    ...(options.model ? { model: options.model } : {}),
    ...(options.variant ? { variant: options.variant } : {}),
    ...(options.direct ? { direct: true } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
    ...(options.onChange ? { onChange: options.onChange } : {}),
  });
  // MCP servers connect in the background; their tools join `tools` as each becomes ready.
  const mcp =
    options.tools === false
      ? undefined
      : await startMcpServers({
          config,
          cwd: options.cwd,
          tools,
          logger,
          ...(options.onNotice ? { onNotice: options.onNotice } : {}),
          ...(options.onChange ? { onChange: options.onChange } : {}),
        });
  const prompt = await systemPrompt(paths, options.cwd, logger);
  const conversation = new Conversation({
    backend,
    tools,
    permissions,
    cwd: options.cwd,
    systemPrompt: prompt.text,
    logger,
  });
  const sessions = createSessionStore({ directory: paths.sessions, logger });
  const runtime: Runtime = {
    config,
    paths,
    logger,
    tools,
    permissions,
    backend,
    conversation,
    instructions: prompt.instructions,
    async reloadInstructions() {
      const next = await systemPrompt(paths, options.cwd, logger);
      conversation.systemPrompt = next.text;
      runtime.instructions = next.instructions;
      return next.instructions;
    },
    sessions,
    session: sessions.create({ cwd: options.cwd }),
    ...(mcp ? { mcp } : {}),
    close: async () => {
      await mcp?.close().catch(() => undefined);
      await backend.close();
    },
  };
  return runtime;
}
