import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { type Logger, silentLogger } from '@shammah/provider';
import picomatch from 'picomatch';
import { commandPatternMatches, splitShellCommand, suggestCommandPattern } from './command-pattern.js';
import { formatPermissionRule, type PermissionAction, type PermissionRule } from './permission-rule.js';
import { expandHome, isInsideDirectory, resolveLogicalPath, resolvePhysicalPath } from './resolve-path.js';
import type { PermissionTarget, ToolKind } from './tool.js';
import { canonicalToolName, normalizeToolName } from './tool-names.js';

/** One tool call, as the permission policy sees it. */
export interface PermissionRequest {
  /** The tool's name (any spelling; compared as {@link canonicalToolName} does). */
  tool: string;
  kind: ToolKind;
  target: PermissionTarget;
  /** Relative paths in the target resolve against it. */
  cwd: string;
}

/** What the user is asked about one call. */
export interface PermissionPrompt {
  request: PermissionRequest;
  /** One line for the user: `Bash wants to run: npm test`. */
  message: string;
  /** Why the policy asks (no rule matched, a rule says ask, the path is outside the project, …). */
  reason: string;
  /** The rules "allow always" would add; they are built to match this call. */
  suggestedRules: PermissionRule[];
  /** For path targets: the path with every symbolic link resolved. */
  resolvedPath?: string;
}

/** The user's answer to a {@link PermissionPrompt}. */
export type PermissionAnswer =
  | 'allow-once'
  | 'allow-always'
  | 'deny'
  | { decision: 'allow-once' }
  | { decision: 'allow-always'; rules?: PermissionRule[] }
  | { decision: 'deny'; reason?: string };

/** Asks the user; the host's UI implements it. */
export type PermissionAsk = (prompt: PermissionPrompt) => Promise<PermissionAnswer>;

/** What the rules alone say about a call, before anyone is asked. */
export interface PermissionEvaluation {
  action: PermissionAction;
  reason: string;
  /** The rule that decided, when one did. */
  rule?: PermissionRule;
  source: 'rule' | 'default';
  suggestedRules: PermissionRule[];
  resolvedPath?: string;
}

/** The final word on a call. */
export interface PermissionDecision {
  allowed: boolean;
  reason: string;
  /** Whether the user was asked. */
  asked: boolean;
  rule?: PermissionRule;
  /** Rules the user allowed "always": already in force for this policy; the host persists them. */
  persist: PermissionRule[];
}

/** Options of {@link createPermissionPolicy}. */
export interface PermissionPolicyOptions {
  /** Reads inside it are allowed by default; relative rule patterns are relative to it. */
  projectRoot: string;
  /** Rules from the user's config; the earliest, so project and session rules override them. */
  userRules?: readonly PermissionRule[];
  /** Rules from the project's config. */
  projectRules?: readonly PermissionRule[];
  /** Rules added during this session (also by "allow always"); the last, so they win. */
  sessionRules?: readonly PermissionRule[];
  /** Asks the user. Without it, every call that needs asking is denied. */
  ask?: PermissionAsk;
  /** Called with the rules an "allow always" answer added, so the host can save them. */
  onRulesAdded?: (rules: PermissionRule[]) => void | Promise<void>;
  logger?: Logger;
  /** Where `~` in patterns points; defaults to the user's home. */
  homeDir?: string;
}

/** Decides whether a tool call may run. */
export interface PermissionPolicy {
  /** The project root with symbolic links resolved, once the first check has run. */
  readonly projectRoot: string;
  /** Every rule in force, in the order they apply (the last matching one wins). */
  readonly rules: readonly PermissionRule[];
  /** What the rules say, without asking anyone. */
  evaluate(request: PermissionRequest): Promise<PermissionEvaluation>;
  /** Evaluates, asks the user when the rules say `ask`, logs the decision and returns it. */
  check(
    request: PermissionRequest,
    hooks?: { onAsk?: (prompt: PermissionPrompt) => void },
  ): Promise<PermissionDecision>;
  /** Adds session rules (after every other rule, so they win). */
  addRules(rules: readonly PermissionRule[]): void;
}

const RESTRICTIVENESS: Record<PermissionAction, number> = { allow: 0, ask: 1, deny: 2 };

function moreRestrictive<T extends { action: PermissionAction }>(a: T, b: T): T {
  return RESTRICTIVENESS[b.action] > RESTRICTIVENESS[a.action] ? b : a;
}

function toolMatches(rule: PermissionRule, tool: string): boolean {
  if (rule.tool === '*') return true;
  const ruleTool = rule.tool.toLowerCase();
  const callTool = tool.toLowerCase();
  // MCP tools, as Claude Code writes their rules: `mcp__server` or `mcp__server__*` covers every tool
  // of that server, and a trailing `*` is a prefix. Compared with underscores kept, so `mcp__git`
  // never covers a server named `git_hub`.
  if (ruleTool.startsWith('mcp__')) {
    if (ruleTool.endsWith('*')) return callTool.startsWith(ruleTool.slice(0, -1));
    if (!ruleTool.slice('mcp__'.length).includes('__')) return callTool.startsWith(`${ruleTool}__`);
    return callTool === ruleTool;
  }
  if (ruleTool.endsWith('*')) return callTool.startsWith(ruleTool.slice(0, -1));
  return normalizeToolName(canonicalToolName(rule.tool)) === normalizeToolName(canonicalToolName(tool));
}

function wildcardMatches(pattern: string, text: string): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 'is').test(text);
}

function describeTarget(request: PermissionRequest): string {
  switch (request.target.type) {
    case 'path':
      return request.target.path;
    case 'command':
      return request.target.command;
    case 'url':
      return request.target.url;
    default:
      return '';
  }
}

function promptMessage(request: PermissionRequest): string {
  const target = request.target;
  switch (target.type) {
    case 'command':
      return `${request.tool} wants to run: ${target.command}`;
    case 'url':
      return `${request.tool} wants to fetch ${target.url}`;
    case 'path': {
      const verb = request.kind === 'write' ? 'write' : request.kind === 'read' ? 'read' : 'use';
      return `${request.tool} wants to ${verb} ${target.path}`;
    }
    default:
      return target.detail
        ? `${request.tool} wants to run: ${target.detail}`
        : `${request.tool} wants to run.`;
  }
}

function normalizeAnswer(answer: PermissionAnswer): Exclude<PermissionAnswer, string> {
  return typeof answer === 'string' ? { decision: answer } : answer;
}

interface Verdict {
  action: PermissionAction;
  rule?: PermissionRule;
  reason: string;
}

/**
 * Creates the permission policy: rules `{ tool, pattern, action }` from the user's config, the
 * project's and the session, where the last matching rule wins; without a match, reads inside the
 * project are allowed and everything else (reads outside it, writes, commands, fetches, restarts) asks.
 * Paths are checked both as written and with every symbolic link resolved, and the stricter verdict
 * holds, so neither `../` nor a symlink can leave the project where a rule forbids it. Every decision
 * is logged through `logger.child({ module: 'permissions' })`.
 *
 * @example
 * ```ts
 * const permissions = createPermissionPolicy({
 *   projectRoot: '/repo',
 *   userRules: [{ tool: 'Bash', pattern: 'npm test*', action: 'allow' }],
 *   ask: async (prompt) => ((await confirm(prompt.message)) ? 'allow-once' : 'deny'),
 * });
 * const decision = await permissions.check({ tool: 'Bash', kind: 'execute', cwd: '/repo', target: { type: 'command', command: 'npm test' } });
 * ```
 */
export function createPermissionPolicy(options: PermissionPolicyOptions): PermissionPolicy {
  const logger = (options.logger ?? silentLogger).child({ module: 'permissions' });
  const home = options.homeDir ?? homedir();
  const logicalRoot = path.resolve(options.projectRoot);
  let physicalRoot = logicalRoot;
  let physicalRootPromise: Promise<string> | undefined;
  const rules: PermissionRule[] = [
    ...(options.userRules ?? []),
    ...(options.projectRules ?? []),
    ...(options.sessionRules ?? []),
  ];
  const matcherCache = new Map<string, (value: string) => boolean>();

  const globMatcher = (pattern: string) => {
    let matcher = matcherCache.get(pattern);
    if (!matcher) {
      const exact = picomatch(pattern, { dot: true });
      const below = picomatch(`${pattern.replace(/\/+$/, '')}/**`, { dot: true });
      matcher = (value: string) => exact(value) || below(value);
      matcherCache.set(pattern, matcher);
    }
    return matcher;
  };

  const pathPatternMatches = (pattern: string, absolute: string, root: string): boolean => {
    const expanded = expandHome(pattern, home);
    if (path.isAbsolute(expanded)) return globMatcher(expanded)(absolute);
    if (!isInsideDirectory(absolute, root)) return false;
    const relative = path.relative(root, absolute);
    const normalizedPattern = expanded.replace(/^\.\/+/, '');
    if (relative === '') return normalizedPattern === '**' || normalizedPattern === '.';
    return globMatcher(normalizedPattern)(relative);
  };

  const lastMatching = (tool: string, matches: (pattern: string) => boolean): PermissionRule | undefined => {
    for (let index = rules.length - 1; index >= 0; index--) {
      const rule = rules[index]!;
      if (!toolMatches(rule, tool)) continue;
      if (rule.pattern === undefined || matches(rule.pattern)) return rule;
    }
    return undefined;
  };

  const ruleVerdict = (rule: PermissionRule): Verdict => ({
    action: rule.action,
    rule,
    reason: `rule ${formatPermissionRule(rule)}`,
  });

  const evaluatePath = async (request: PermissionRequest, target: { path: string }) => {
    if (!physicalRootPromise) physicalRootPromise = resolvePhysicalPath(logicalRoot, '/');
    physicalRoot = await physicalRootPromise;
    const logical = resolveLogicalPath(target.path, request.cwd);
    const physical = await resolvePhysicalPath(target.path, request.cwd);
    const candidates = [
      { absolute: logical, root: logicalRoot },
      { absolute: physical, root: physicalRoot },
    ];
    let verdict: Verdict | undefined;
    for (const candidate of candidates) {
      const rule = lastMatching(request.tool, (pattern) =>
        pathPatternMatches(pattern, candidate.absolute, candidate.root),
      );
      const inside = isInsideDirectory(candidate.absolute, candidate.root);
      const current: Verdict = rule
        ? ruleVerdict(rule)
        : request.kind === 'read' && inside
          ? { action: 'allow', reason: 'reads inside the project are allowed by default' }
          : {
              action: 'ask',
              reason: inside
                ? `no rule covers ${request.tool} here; ${request.kind} tools ask by default`
                : `${candidate.absolute} is outside the project ${candidate.root}`,
            };
      verdict = verdict ? moreRestrictive(verdict, current) : current;
    }

    let directory = path.dirname(physical);
    if (request.kind === 'read') {
      const stats = await stat(physical).catch(() => undefined);
      if (stats?.isDirectory()) directory = physical;
    }
    const pattern = isInsideDirectory(directory, physicalRoot)
      ? path.relative(physicalRoot, directory) === ''
        ? '**'
        : `${path.relative(physicalRoot, directory)}/**`
      : `${directory === path.sep ? '' : directory}/**`;
    return {
      verdict: verdict!,
      suggestedRules: [{ tool: request.tool, pattern, action: 'allow' as const }],
      resolvedPath: physical,
    };
  };

  const evaluateCommand = (request: PermissionRequest, command: string) => {
    const { segments, hasSubstitution } = splitShellCommand(command);
    const suggestedRules: PermissionRule[] = [];
    let verdict: Verdict | undefined;
    for (const segment of segments.length > 0 ? segments : ['']) {
      const rule = lastMatching(request.tool, (pattern) => {
        if (!commandPatternMatches(pattern, segment)) return false;
        // `$(…)` and backticks run commands no pattern can foresee: only "any command" covers them.
        return !hasSubstitution || pattern.trim() === '*';
      });
      const current: Verdict = rule
        ? ruleVerdict(rule)
        : {
            action: 'ask',
            reason: hasSubstitution
              ? 'the command substitutes the output of other commands, which no pattern can vouch for'
              : `no rule covers the command "${segment}"; commands ask by default`,
          };
      if (current.action === 'ask' && !hasSubstitution && segment !== '') {
        const pattern = suggestCommandPattern(segment);
        if (!suggestedRules.some((existing) => existing.pattern === pattern)) {
          suggestedRules.push({ tool: request.tool, pattern, action: 'allow' });
        }
      }
      verdict = verdict ? moreRestrictive(verdict, current) : current;
    }
    return { verdict: verdict!, suggestedRules };
  };

  const evaluateUrl = (request: PermissionRequest, url: string) => {
    let host = '';
    try {
      host = new URL(url).hostname.toLowerCase();
    } catch {
      // An unparsable URL matches only rules without a pattern; WebFetch itself reports it.
    }
    const rule = lastMatching(request.tool, (pattern) =>
      pattern.includes('://') ? wildcardMatches(pattern, url) : host !== '' && wildcardMatches(pattern, host),
    );
    const verdict: Verdict = rule
      ? ruleVerdict(rule)
      : { action: 'ask', reason: `no rule covers fetching from ${host || url}` };
    return {
      verdict,
      suggestedRules: host ? [{ tool: request.tool, pattern: host, action: 'allow' as const }] : [],
    };
  };

  const evaluate = async (request: PermissionRequest): Promise<PermissionEvaluation> => {
    const target = request.target;
    let result: { verdict: Verdict; suggestedRules: PermissionRule[]; resolvedPath?: string };
    if (target.type === 'path') result = await evaluatePath(request, target);
    else if (target.type === 'command') result = evaluateCommand(request, target.command);
    else if (target.type === 'url') result = evaluateUrl(request, target.url);
    else {
      const rule = lastMatching(request.tool, (pattern) => pattern.trim() === '*');
      result = {
        verdict: rule
          ? ruleVerdict(rule)
          : request.kind === 'read'
            ? { action: 'allow', reason: 'reads are allowed by default' }
            : { action: 'ask', reason: `${request.tool} asks by default` },
        // A restart is confirmed every time unless the user writes a rule for it by hand.
        suggestedRules: request.kind === 'session' ? [] : [{ tool: request.tool, action: 'allow' }],
      };
    }
    const { verdict } = result;
    return {
      action: verdict.action,
      reason: verdict.reason,
      source: verdict.rule ? 'rule' : 'default',
      ...(verdict.rule ? { rule: verdict.rule } : {}),
      suggestedRules: verdict.action === 'ask' ? result.suggestedRules : [],
      ...(result.resolvedPath ? { resolvedPath: result.resolvedPath } : {}),
    };
  };

  const log = (
    request: PermissionRequest,
    decision: PermissionDecision,
    evaluation: PermissionEvaluation,
  ) => {
    logger.info(
      {
        tool: request.tool,
        kind: request.kind,
        target: describeTarget(request),
        ...(evaluation.resolvedPath ? { resolvedPath: evaluation.resolvedPath } : {}),
        evaluated: evaluation.action,
        allowed: decision.allowed,
        asked: decision.asked,
        source: evaluation.source,
        ...(decision.rule ? { rule: formatPermissionRule(decision.rule) } : {}),
        ...(decision.persist.length > 0 ? { persist: decision.persist.map(formatPermissionRule) } : {}),
        reason: decision.reason,
      },
      decision.allowed ? 'tool call allowed' : 'tool call denied',
    );
  };

  const policy: PermissionPolicy = {
    get projectRoot() {
      return physicalRoot;
    },
    get rules() {
      return rules;
    },
    evaluate,
    addRules(added) {
      rules.push(...added);
    },
    async check(request, hooks) {
      const evaluation = await evaluate(request);
      const base = { ...(evaluation.rule ? { rule: evaluation.rule } : {}), persist: [] as PermissionRule[] };
      if (evaluation.action !== 'ask') {
        const decision = {
          ...base,
          allowed: evaluation.action === 'allow',
          reason: evaluation.reason,
          asked: false,
        };
        log(request, decision, evaluation);
        return decision;
      }
      if (!options.ask) {
        const decision = {
          ...base,
          allowed: false,
          asked: false,
          reason: `${evaluation.reason}; approval is needed but this session cannot ask anyone`,
        };
        log(request, decision, evaluation);
        return decision;
      }
      const prompt: PermissionPrompt = {
        request,
        message: promptMessage(request),
        reason: evaluation.reason,
        suggestedRules: evaluation.suggestedRules,
        ...(evaluation.resolvedPath ? { resolvedPath: evaluation.resolvedPath } : {}),
      };
      hooks?.onAsk?.(prompt);
      let answer: Exclude<PermissionAnswer, string>;
      try {
        answer = normalizeAnswer(await options.ask(prompt));
      } catch (error) {
        logger.error({ err: error, tool: request.tool }, 'asking for permission failed; denying');
        answer = { decision: 'deny', reason: `asking the user failed: ${(error as Error).message}` };
      }
      let decision: PermissionDecision;
      if (answer.decision === 'deny') {
        decision = { ...base, allowed: false, asked: true, reason: answer.reason ?? 'the user denied it' };
      } else if (answer.decision === 'allow-once') {
        decision = { ...base, allowed: true, asked: true, reason: 'the user allowed it once' };
      } else {
        const added = answer.rules ?? evaluation.suggestedRules;
        rules.push(...added);
        decision = {
          ...base,
          allowed: true,
          asked: true,
          reason: 'the user allowed it always',
          persist: added,
        };
        const again = await evaluate(request);
        if (again.action !== 'allow') {
          logger.warn(
            { tool: request.tool, target: describeTarget(request), rules: added.map(formatPermissionRule) },
            'the rules allowed "always" do not cover this call; it will be asked again next time',
          );
        }
        if (added.length > 0) await options.onRulesAdded?.(added);
      }
      log(request, decision, evaluation);
      return decision;
    },
  };
  return policy;
}
