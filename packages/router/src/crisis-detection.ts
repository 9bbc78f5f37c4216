/** What kind of danger a message indicates. */
export type CrisisKind = 'self-harm' | 'violence' | 'medical';

/** A message that indicates self-harm or danger to life. */
export interface CrisisSignal {
  kind: CrisisKind;
  /** The words that matched, as written (lower-cased). */
  phrase: string;
}

/** One rule of the crisis detector. */
export interface CrisisPattern {
  kind: CrisisKind;
  pattern: RegExp;
}

// Objects that make "kill …", "… died" and the like about software, not people.
const technicalNoun =
  '(?:process(?:es)?|thread|threads|pid|pids|job|jobs|task|tasks|server|servers|container|containers|pod|pods|session|sessions|tab|tabs|app|apps|worker|workers|daemon|daemons|node|nodes|element|elements|component|components|query|queries|connection|connections|window|windows|instance|instances|service|services|program|programs|command|commands|signal|signals|loop|branch|build|request|requests)';

const intent =
  "(?:want|wanted|wanna|going|gonna|plan|planning|planned|tempted|about|ready|trying|tried|urge|urges|thinking about|thought about|think about|keep thinking about|can't stop thinking about|will|i'll|i will|need)";

const person =
  '(?:him|her|my\\s+(?:wife|husband|partner|girlfriend|boyfriend|ex|mom|mum|mother|dad|father|son|daughter|kids?|children|child|baby|brother|sister|family|boss|coworker|co-worker|neighbou?r|roommate|friend|teacher)|someone|somebody|everyone|everybody|people)';

/**
 * The detector's rules. They look for a person as the object (myself, him, my sister), an intent
 * or a plain statement, and leave out the idioms that fill a programmer's day: "kill the
 * process", "this bug is killing me", "execute the child process", "shoot me an email".
 */
export const defaultCrisisPatterns: readonly CrisisPattern[] = [
  // Suicide and self-harm, said plainly.
  { kind: 'self-harm', pattern: /\bsuicid(?:e|al|ality)\b/ },
  {
    kind: 'self-harm',
    pattern: /\b(?:kill|killing|killed|hang|hanging|unalive|unaliving|end|ending)\s+myself\b/,
  },
  {
    kind: 'self-harm',
    pattern: /\b(?:end|ending|take|taking|took)\s+(?:my|my\s+own)\s+life\b|\btake\s+my\s+own\s+life\b/,
  },
  { kind: 'self-harm', pattern: /\bself[-\s]?harm(?:ing|ed)?\b/ },
  {
    kind: 'self-harm',
    pattern: new RegExp(
      `\\b${intent}\\s+(?:to\\s+)?(?:hurt|harm|cut|burn|starve|poison|drown|stab|shoot|overdose)\\s+myself\\b(?!\\s+in\\s+the\\s+foot)`,
    ),
  },
  {
    kind: 'self-harm',
    pattern: /\b(?:cutting|burning|starving|hurting|harming)\s+myself\b(?!\s+(?:a|an|some|out|off|up)\b)/,
  },
  { kind: 'self-harm', pattern: /\b(?:slit|slitting|cut|cutting)\s+my\s+wrists?\b/ },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:i|i'm|i am|i've been|i really|i just|i kinda|i honestly)\s+(?:\w+\s+){0,2}(?:want|wanna|wish|ready|going|deserve)\s+(?:to\s+)?die\b/,
  },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:wish|wishing)\s+i\s+(?:was|were)\s+dead\b|\bwish\s+i\s+(?:had\s+)?never\s+(?:been\s+born|existed)\b/,
  },
  {
    kind: 'self-harm',
    pattern: /\b(?:be|are|would\s+be)\s+better\s+off\s+(?:dead|without\s+me)\b|\bbetter\s+off\s+dead\b/,
  },
  {
    kind: 'self-harm',
    pattern:
      /\bno\s+reason\s+to\s+(?:live|keep\s+living|go\s+on)\b|\bnothing\s+(?:left\s+)?to\s+live\s+for\b|\bno\s+point\s+(?:in\s+)?(?:living|being\s+alive|going\s+on)\b|\b(?:life|living)\s+(?:isn't|is not|is no longer)\s+worth\s+(?:it|living)\b/,
  },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:don't|do not|dont|no longer)\s+want\s+to\s+(?:live|be alive|exist|be here)\b|\bdon't\s+want\s+to\s+wake\s+up\s+(?:anymore|again|ever)\b/,
  },
  {
    kind: 'self-harm',
    pattern: /\b(?:can't|cannot|can not)\s+go\s+on\s+(?:living|like this|anymore|any longer)\b/,
  },
  { kind: 'self-harm', pattern: /\bend\s+it\s+all\b/ },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:lethal|fatal)\s+dose\b|\bhow\s+many\s+(?:\w+\s+){0,3}(?:pills|tablets)\s+(?:\w+\s+){0,4}(?:die|kill|lethal|overdose|od)\b/,
  },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:jump|jumping)\s+(?:off|from)\s+(?:a|the|this)\s+(?:bridge|building|roof|cliff|balcony|tower)\b/,
  },
  {
    kind: 'self-harm',
    pattern:
      /\b(?:kill|killing|hang|hanging|hurt|hurting|harm|harming)\s+(?:himself|herself|themselves|themself)\b/,
  },
  // Violence against a person, intended or suffered.
  {
    kind: 'violence',
    pattern: new RegExp(
      `\\b(?:i|i'm|i am|i'll|i've|we|we're|we'll)\\s+(?:\\w+\\s+){0,2}?(?:${intent}\\s+(?:to\\s+)?)?` +
        `(?:kill|murder|shoot|stab|strangle|choke|poison|hurt|beat\\s+up)\\s+${person}\\b` +
        `(?!'s\\b|\\s+${technicalNoun}\\b|\\s+(?:feelings|chances|career|reputation|pride|ego|back|knee|code)\\b)`,
    ),
  },
  {
    kind: 'violence',
    pattern:
      /\b(?:threaten(?:s|ed|ing)?|tried|trying|tries)\s+to\s+(?:kill|murder|shoot|stab|strangle|choke|hurt)\s+(?:me|us|my)\b/,
  },
  {
    kind: 'violence',
    pattern:
      /\b(?:he|she|they|my\s+(?:husband|wife|partner|boyfriend|girlfriend|dad|father|mom|mother|ex))\s+(?:\w+\s+)?(?:hits|beats|chokes|strangles|abuses|hurts|hit|beat|choked|strangled|abused)\s+me\b/,
  },
  {
    kind: 'violence',
    pattern:
      /\b(?:i'm|i am|i feel|i don't feel|i do not feel)\s+(?:not\s+)?safe\s+(?:at\s+home|with\s+(?:him|her|them|my))\b/,
  },
  {
    kind: 'violence',
    pattern:
      /\b(?:he|she|they|someone|somebody|a man|a guy)\s+(?:has|have|is holding|pulled|pointed)\s+(?:a\s+)?(?:gun|knife)\b/,
  },
  // Medical emergencies.
  {
    kind: 'medical',
    pattern: /\b(?:not|isn't|is not|aren't|stopped|barely)\s+breathing\b|\b(?:can't|cannot)\s+breathe\b/,
  },
  {
    kind: 'medical',
    pattern:
      /\b(?:took|swallowed|taken|swallowing|taking)\s+(?:a\s+(?:whole|full)\s+)?(?:bottle|handful|lot|box)\s+of\s+(?:pills|tablets|medication|meds|sleeping\s+pills)\b/,
  },
  { kind: 'medical', pattern: /\b(?:overdosed|overdosing|od'd|od'ed)\b/ },
  {
    kind: 'medical',
    pattern:
      /\b(?:i'm|i am|i think i'm|he's|he is|she's|she is|someone is|they're|they are)\s+having\s+a\s+(?:heart\s+attack|stroke|seizure)\b/,
  },
  { kind: 'medical', pattern: /\bbleeding\s+(?:heavily|a lot|badly|out|everywhere|won't stop)\b/ },
  {
    kind: 'medical',
    pattern:
      /\b(?:collapsed|passed out)\s+and\s+(?:won't|isn't|can't|doesn't|is not)\s+(?:wake|waking|breathe|breathing|respond|responding)\b/,
  },
];

// Phrases that look like the patterns above but are about software or idioms; they are blanked out
// before matching, so "kill the child process and then kill myself" is still caught.
const idioms: readonly RegExp[] = [
  new RegExp(
    `\\b(?:${'process|thread|worker|pod|container|daemon|program|server|app|job|task|bot|child|parent|it|node|instance'})(?:es|s)?\\s+(?:commits?|committed|committing)\\s+suicide\\b`,
    'g',
  ),
  /\bsuicide\s+(?:squad|burn|burns|linux|doors?|runs?|sprints?|king|note\s+by\s+\w+)\b/g,
  /\bshoot\s+myself\s+in\s+the\s+foot\b/g,
  new RegExp(
    `\\b${technicalNoun}\\s+(?:\\w+\\s+)?(?:kill|kills|killed|killing|hang|hangs)\\s+(?:themselves|itself|himself|herself)\\b`,
    'g',
  ),
];

/** Lower-cases, straightens quotes and collapses whitespace, so patterns see one spelling. */
export function normalizeForDetection(text: string): string {
  let normalized = text
    .toLowerCase()
    .replace(/[\u2018\u2019\u02bc`]/g, "'")
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/\bi\s*m\b/g, "i'm")
    .replace(/\bdont\b/g, "don't")
    .replace(/\bcant\b/g, "can't")
    .replace(/\s+/g, ' ');
  for (const idiom of idioms) normalized = normalized.replace(idiom, ' ');
  return normalized;
}

/**
 * Looks for signs of self-harm, violence or a medical emergency in a message. Errs on the side of
 * caution: a false alarm costs one teacher call, a miss could cost far more; but it leaves out the
 * idioms of programming ("kill the process", "this bug is killing me").
 *
 * @example
 * ```ts
 * detectCrisis('I want to kill myself'); // { kind: 'self-harm', phrase: 'kill myself' }
 * detectCrisis('how do I kill the child process?'); // undefined
 * ```
 */
export function detectCrisis(
  text: string,
  patterns: readonly CrisisPattern[] = defaultCrisisPatterns,
): CrisisSignal | undefined {
  const normalized = normalizeForDetection(text);
  for (const { kind, pattern } of patterns) {
    const match = pattern.exec(normalized);
    if (match) return { kind, phrase: match[0].trim() };
  }
  return undefined;
}
