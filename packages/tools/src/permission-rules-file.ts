import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { PermissionRulesError } from './errors.js';
import { type PermissionAction, type PermissionRule, parsePermissionRule } from './permission-rule.js';

function rulesFrom(document: unknown, file: string): PermissionRule[] {
  try {
    if (Array.isArray(document)) return document.map((item) => parsePermissionRule(item));
    if (document !== null && typeof document === 'object') {
      const record = document as Record<string, unknown>;
      const rules: PermissionRule[] = [];
      if (Array.isArray(record.rules)) rules.push(...record.rules.map((item) => parsePermissionRule(item)));
      for (const action of ['allow', 'deny', 'ask'] as PermissionAction[]) {
        const list = record[action];
        if (Array.isArray(list)) rules.push(...list.map((item) => parsePermissionRule(item, action)));
      }
      return rules;
    }
  } catch (error) {
    if (error instanceof PermissionRulesError) {
      throw new PermissionRulesError(`${file}: ${error.message}`, { path: file, cause: error });
    }
    throw error;
  }
  throw new PermissionRulesError(
    `${file} holds neither a list of rules nor an object with "rules", "allow", "deny" or "ask" lists. ` +
      'Write {"rules": [{"tool": "Bash", "pattern": "npm test*", "action": "allow"}]}.',
    { path: file },
  );
}

/**
 * Reads permission rules from a JSON file: `{"rules": [...]}`, a bare list, or Claude Code's
 * `{"allow": ["Bash(npm test*)"], "deny": [...]}`. A missing file holds no rules.
 *
 * @example
 * ```ts
 * const projectRules = await readPermissionRules('/repo/.shammah/permissions.json');
 * ```
 */
export async function readPermissionRules(file: string): Promise<PermissionRule[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new PermissionRulesError(
      `${file} is not valid JSON (${(error as Error).message}). Fix it or delete it to start over.`,
      { path: file, cause: error },
    );
  }
  return rulesFrom(document, file);
}

/**
 * Appends rules to a JSON rules file (creating it), written atomically, skipping rules already there.
 * Hosts call it with the rules an "allow always" answer returns.
 */
export async function appendPermissionRules(file: string, rules: readonly PermissionRule[]): Promise<void> {
  const existing = await readPermissionRules(file);
  const key = (rule: PermissionRule) => JSON.stringify([rule.tool, rule.pattern ?? null, rule.action]);
  const seen = new Set(existing.map(key));
  const merged = [...existing];
  for (const rule of rules) {
    if (!seen.has(key(rule))) {
      seen.add(key(rule));
      merged.push(rule);
    }
  }
  await mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, `${JSON.stringify({ rules: merged }, null, 2)}\n`);
}
