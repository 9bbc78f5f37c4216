/** A kind of request whose success on the local model is learnt separately. */
export interface CategoryRule {
  /** kebab-case name, e.g. `debug`; the key in the learning file. */
  name: string;
  /** The request belongs to the category when any pattern matches its text (lower-cased). */
  patterns: readonly RegExp[];
}

/** The category of a request that matches no rule. */
export const fallbackCategory = 'other';

const codeMarkers =
  /```|\b(?:function|class|method|variable|module|struct|interface|regex|api|endpoint|script|snippet|component|hook|query|sql|typescript|javascript|python|rust|golang|java|c\+\+|code)\b|\b\w+\.(?:ts|tsx|js|jsx|py|rs|go|java|rb|c|cpp|h|json|toml|yaml|yml|sh)\b|\w+\(\)/;

/**
 * The default categories, tried in order; the first match wins. Debugging comes before writing and
 * explaining because "fix this function" is debugging whatever else it mentions.
 */
export const defaultCategoryRules: readonly CategoryRule[] = [
  {
    name: 'debug',
    patterns: [
      /\b(?:\w*error|\w*errors|\w*exception|throws?|throwing|thrown|traceback|stack ?trace|bug|bugs|crash(?:es|ed|ing)?|segfault|panic(?:ked|s)?|broken|fails?|failing|failed|doesn't work|does not work|not working|won't compile|undefined is not|null pointer|fix)\b/,
    ],
  },
  {
    name: 'shell',
    patterns: [
      /\b(?:bash|zsh|fish|shell|terminal|command line|command-line|cli|one-liner)\b/,
      /(?:^|\s)(?:git|grep|sed|awk|find|chmod|chown|curl|wget|ssh|scp|rsync|tar|docker|kubectl|npm|pnpm|yarn|brew|apt|apt-get|systemctl|ps|kill|lsof|xargs|jq)\s+[-\w]/,
    ],
  },
  {
    name: 'code-write',
    patterns: [
      new RegExp(
        `\\b(?:write|implement|create|generate|add|build|refactor|make|convert|port|rewrite)\\b[\\s\\S]*?(?:${codeMarkers.source})`,
      ),
      /\b(?:write|implement)\s+(?:a|an|the)\s+(?:function|class|test|tests|program|parser)\b/,
    ],
  },
  {
    name: 'code-explain',
    patterns: [
      new RegExp(
        `\\b(?:explain|what does|what do|how does|how do|walk me through|why does|why is|meaning of|understand)\\b[\\s\\S]*?(?:${codeMarkers.source})`,
      ),
      new RegExp(`(?:${codeMarkers.source})[\\s\\S]*?\\b(?:explain|what does this|how does this)\\b`),
    ],
  },
  {
    name: 'math',
    patterns: [
      /\b(?:calculate|compute|solve|equation|integral|derivative|probability|prime|factorial|algebra|matrix|theorem|proof|percent(?:age)?|square root)\b/,
      /\d+(?:\.\d+)?\s*[-+*/^×÷]\s*\d+/,
    ],
  },
  {
    name: 'creative',
    patterns: [
      /\b(?:poem|story|haiku|song|lyrics|joke|limerick|fiction|slogan|tagline|novel|screenplay|rhyme|creative)\b/,
    ],
  },
  {
    name: 'general-knowledge',
    patterns: [
      /^(?:what|who|when|where|which|why|how)\s+(?:is|are|was|were|did|does|do|many|much)\b/,
      /\b(?:capital of|history of|define|definition of|meaning of|difference between|compare|versus|vs\.?)\b/,
    ],
  },
  {
    name: 'greeting',
    patterns: [
      /^(?:hi|hello|hey|yo|good (?:morning|afternoon|evening)|thanks|thank you)\b[\s!.,?]*\w*[\s!.,?]*$/,
    ],
  },
];

/**
 * The category of a request's text: the name of the first rule with a matching pattern, else
 * `other`.
 *
 * @example
 * ```ts
 * classifyRequest('Why does this throw a TypeError?'); // 'debug'
 * classifyRequest('Write a haiku about autumn'); // 'creative'
 * ```
 */
export function classifyRequest(text: string, rules: readonly CategoryRule[] = defaultCategoryRules): string {
  const normalized = text
    .toLowerCase()
    .replace(/[\u2018\u2019]/g, "'")
    .trim();
  for (const rule of rules) {
    if (rule.patterns.some((pattern) => pattern.test(normalized))) return rule.name;
  }
  return fallbackCategory;
}
