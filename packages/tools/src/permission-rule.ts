import { z } from 'zod';
import { PermissionRulesError } from './errors.js';

/** What a rule does to a matching call. */
export type PermissionAction = 'allow' | 'deny' | 'ask';

/**
 * One permission rule. `tool` is a tool name (any spelling the original Shammah used, matched
 * case-insensitively) or `*`. `pattern` is matched against the call's target: a glob for paths
 * (relative globs are relative to the project root, `~/` is home), a command pattern for Bash
 * (`npm test*`, `git status`), a host glob for WebFetch (`*.github.com`, or a URL glob containing
 * `://`). Without a pattern the rule covers every call of the tool.
 */
export interface PermissionRule {
  tool: string;
  pattern?: string;
  action: PermissionAction;
}

const ruleObjectSchema = z.object({
  tool: z.string().min(1),
  pattern: z.string().min(1).optional(),
  action: z.enum(['allow', 'deny', 'ask']),
});

/**
 * Parses a rule from a config file: an object `{ tool, pattern?, action }`, or Claude Code's shorthand
 * string `Bash(npm test:*)` with the action given separately.
 *
 * @example
 * ```ts
 * parsePermissionRule('Bash(npm test*)', 'allow'); // { tool: 'Bash', pattern: 'npm test*', action: 'allow' }
 * ```
 */
export function parsePermissionRule(value: unknown, action?: PermissionAction): PermissionRule {
  if (typeof value === 'string') {
    const match = /^\s*([^()\s]+)\s*(?:\((.*)\))?\s*$/s.exec(value);
    if (!match || !action) {
      throw new PermissionRulesError(
        `Cannot read the permission rule ${JSON.stringify(value)}. Write it as {"tool": "Bash", "pattern": "npm test*", "action": "allow"}` +
          ' or as "Bash(npm test*)" inside an "allow", "deny" or "ask" list.',
      );
    }
    const pattern = match[2]?.trim();
    return { tool: match[1]!, ...(pattern ? { pattern } : {}), action };
  }
  const parsed = ruleObjectSchema.safeParse(value);
  if (!parsed.success) {
    throw new PermissionRulesError(
      `Cannot read the permission rule ${JSON.stringify(value)}: ${z.prettifyError(parsed.error)}\n` +
        'A rule is {"tool": "<tool name or *>", "pattern": "<optional glob or command pattern>", "action": "allow" | "deny" | "ask"}.',
      { cause: parsed.error },
    );
  }
  return parsed.data.pattern === undefined
    ? { tool: parsed.data.tool, action: parsed.data.action }
    : { tool: parsed.data.tool, pattern: parsed.data.pattern, action: parsed.data.action };
}

/** A rule as the shorthand `Tool(pattern) → action`, for logs and prompts. */
export function formatPermissionRule(rule: PermissionRule): string {
  return `${rule.tool}${rule.pattern === undefined ? '' : `(${rule.pattern})`} → ${rule.action}`;
}
