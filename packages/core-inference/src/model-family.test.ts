// Each family's real chat template (fixtures/chat-templates/*.jinja, as the models'
// tokenizer_config.json carry them) rendered by ChatTokenizer must give exactly what transformers
// renders (expected/*.txt, written by training/shammah_training/chat_template_fixtures.py), with a
// system prompt, multi-turn history and tool definitions where the template has them; and each
// family's stop token ids must be the model's own end-of-turn tokens.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChatMessage, ToolDefinition } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { familyOf, familyStopTokenIds, MODEL_FAMILIES } from './model-family.js';
import type { ModelFiles } from './model-files.js';
import { ChatTokenizer } from './tokenizer.js';

const fixtures = join(import.meta.dirname, '..', 'fixtures');
const templates = join(fixtures, 'chat-templates');

interface FamilySpec {
  model_type: string;
  tokenizer_config: Record<string, string | null>;
  added_tokens: Record<string, number>;
  eos_token_id: number | number[];
  stop_ids: number[];
}
interface Case {
  name: string;
  template: string;
  conversation: 'chat' | 'tools' | 'thinking';
  tools?: unknown[];
}
const spec = JSON.parse(readFileSync(join(templates, 'cases.json'), 'utf8')) as {
  families: Record<string, FamilySpec>;
  cases: Case[];
};

const system: ChatMessage = { role: 'system', content: 'You are a terse coding assistant.' };
const conversations: Record<Case['conversation'], ChatMessage[]> = {
  chat: [
    system,
    { role: 'user', content: 'What does `ls -a` show?' },
    { role: 'assistant', content: 'Every entry, including dot files.' },
    { role: 'user', content: 'And `ls -l`?' },
  ],
  thinking: [
    system,
    { role: 'user', content: 'What does `ls -a` show?' },
    {
      role: 'assistant',
      content: '<think>\nThe user asks about ls.\n</think>\n\nEvery entry, including dot files.',
    },
    { role: 'user', content: 'And `ls -l`?' },
  ],
  tools: [
    { role: 'system', content: 'You are a coding assistant.' },
    { role: 'user', content: 'Show me src/a.ts.' },
    {
      role: 'assistant',
      content: [{ type: 'tool-call', id: 'a1b2c3d4e', name: 'read_file', input: { path: 'src/a.ts' } }],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'a1b2c3d4e',
          toolName: 'read_file',
          content: 'export const a = 1;',
        },
      ],
    },
    { role: 'assistant', content: 'It exports `a = 1`.' },
    { role: 'user', content: 'Thanks. Now list src.' },
  ],
};
const tools: ToolDefinition[] = [
  {
    name: 'read_file',
    description: 'Read a file.',
    inputSchema: {
      type: 'object',
      properties: { path: { type: 'string', description: 'Path to the file' } },
      required: ['path'],
    },
  },
  {
    name: 'list_dir',
    description: 'List a directory.',
    inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
  },
];

// tiny-qwen2's byte-level BPE with its ids moved above 1,000, so each family's special tokens can
// sit at their real ids (Mistral's </s> is 2, Gemma's <end_of_turn> 107, Llama's <|eot_id|> 128009).
const base = JSON.parse(readFileSync(join(fixtures, 'tiny-qwen2', 'tokenizer.json'), 'utf8')) as {
  model: { vocab: Record<string, number> };
};

function filesFor(template: string): ModelFiles {
  const family = spec.families[template]!;
  const vocab = Object.fromEntries(
    Object.entries(base.model.vocab)
      .filter(([text]) => !/^<\|.*\|>$/.test(text)) // Qwen's own special tokens
      .map(([text, id]) => [text, id + 1000]),
  );
  const tokenizerJson = {
    ...base,
    model: { ...base.model, vocab },
    added_tokens: Object.entries(family.added_tokens).map(([content, id]) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
  };
  const tokenizerConfig = Object.fromEntries(
    Object.entries(family.tokenizer_config).filter(([, value]) => value !== null),
  );
  return {
    dir: join(templates, template),
    config: { model_type: family.model_type },
    generationConfig: { eos_token_id: family.eos_token_id },
    tokenizerJson,
    tokenizerConfig,
    chatTemplate: readFileSync(join(templates, `${template}.jinja`), 'utf8'),
    variants: new Map(),
    failedQuality: new Set(),
  };
}

function tokenizerFor(template: string): { tokenizer: ChatTokenizer; files: ModelFiles } {
  const files = filesFor(template);
  const family = familyOf(files.config);
  if (!family) throw new Error(`no family for ${files.config.model_type}`);
  return { tokenizer: new ChatTokenizer(files, family), files };
}

/** The date chat_template_fixtures.py renders Llama's "Today Date" with. */
const REFERENCE_DATE = '26 Jul 2024';
/** strftime's `%b`. */
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function occurrences(text: string, part: string): number {
  return text.split(part).length - 1;
}

describe('chat templates of each family render as transformers renders them', () => {
  for (const testCase of spec.cases) {
    it(testCase.name, () => {
      const { tokenizer } = tokenizerFor(testCase.template);
      const rendered = tokenizer.renderChat(
        conversations[testCase.conversation],
        testCase.conversation === 'tools' ? tools : undefined,
      );
      const expected = readFileSync(join(templates, 'expected', `${testCase.name}.txt`), 'utf8');
      // Llama 3.x templates print today's date (strftime_now, which both renderers define); the
      // reference was rendered with the date fixed.
      const now = new Date();
      const today = `${String(now.getDate()).padStart(2, '0')} ${MONTHS[now.getMonth()]} ${now.getFullYear()}`;
      if (expected.includes('Today Date: ')) expect(rendered).toContain(`Today Date: ${today}\n`);
      expect(rendered.replace(`Today Date: ${today}\n`, `Today Date: ${REFERENCE_DATE}\n`)).toBe(expected);

      // Every special token the template writes is read back as that one token.
      const ids = tokenizer.encode(rendered);
      for (const [text, id] of Object.entries(spec.families[testCase.template]!.added_tokens)) {
        expect(ids.filter((value) => value === id).length, text).toBe(occurrences(rendered, text));
      }
    });
  }

  it('folds the system prompt into the first user turn where the template rejects it or drops it', () => {
    for (const template of ['gemma-2', 'mistral-v0.1', 'phi-3-2024-04']) {
      const rendered = tokenizerFor(template).tokenizer.renderChat(conversations.chat);
      expect(rendered).toContain('You are a terse coding assistant.\n\nWhat does `ls -a` show?');
    }
    // Templates that take a system turn keep it as one.
    const qwen = tokenizerFor('qwen2.5').tokenizer.renderChat(conversations.chat);
    expect(qwen).toContain('<|im_start|>system\nYou are a terse coding assistant.<|im_end|>');
  });

  it('says which templates show the model tool definitions', () => {
    const supports = Object.fromEntries(
      Object.keys(spec.families).map((template) => [
        template,
        tokenizerFor(template).tokenizer.supportsTools,
      ]),
    );
    expect(supports).toEqual({
      'qwen2.5': true,
      'llama-3.2': true,
      'mistral-v0.3': true,
      'mistral-v0.1': false,
      'phi-3': false,
      'phi-3-2024-04': false,
      'gemma-2': false,
      'deepseek-r1-distill-qwen': false,
    });
  });
});

describe('stop token ids', () => {
  for (const [template, family] of Object.entries(spec.families)) {
    it(`are ${template}'s end-of-turn tokens`, () => {
      const { tokenizer, files } = tokenizerFor(template);
      const ids = familyStopTokenIds(familyOf(files.config)!, files, (text) => tokenizer.tokenId(text));
      expect([...ids].sort((a, b) => a - b)).toEqual(family.stop_ids);
    });
  }

  it('cover every model type a family claims, and families do not overlap', () => {
    const types = MODEL_FAMILIES.flatMap((family) => family.modelTypes);
    expect(new Set(types).size).toBe(types.length);
    for (const type of ['qwen2', 'llama', 'mistral', 'phi3', 'gemma', 'gemma2']) {
      expect(familyOf({ model_type: type }), type).toBeDefined();
    }
    expect(familyOf({ model_type: 'Qwen2' })?.name).toBe('qwen2');
    expect(familyOf({ model_type: 'gpt2' })).toBeUndefined();
  });
});
