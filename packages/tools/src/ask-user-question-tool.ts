import { z } from 'zod';
import { ToolError } from './errors.js';
import { defineTool, type Tool } from './tool.js';
import { ToolSet } from './tool-set.js';

/** One choice offered to the user. */
export interface UserQuestionOption {
  label: string;
  description?: string;
}

/** A question the model asks the user, normalised from whatever shape the model wrote. */
export interface UserQuestion {
  question: string;
  /** The choices; empty for an open question. The user may always answer in their own words. */
  options: UserQuestionOption[];
  /** The user may pick more than one choice. */
  multiSelect: boolean;
}

/** The user's answer: choices picked (by label), their own words, or no answer. */
export type UserQuestionAnswer =
  | { kind: 'selected'; labels: string[] }
  | { kind: 'other'; text: string }
  | { kind: 'declined'; reason?: string };

/** Shows the question to the user (the CLI lists the choices; the daemon asks its client). */
export type AskUser = (
  question: UserQuestion,
  context: { signal: AbortSignal },
) => Promise<UserQuestionAnswer | string>;

/** What AskUserQuestion returns to the UI. */
export interface AskUserQuestionData {
  question: UserQuestion;
  answer: UserQuestionAnswer;
}

/** Options of {@link createAskUserQuestionTool}. */
export interface AskUserQuestionToolOptions {
  /** Asks the user. Without it the tool tells the model that no one can be asked (pass-through hosts run it remotely). */
  ask?: AskUser;
}

const option = z.union([
  z.string().min(1),
  z.object({
    label: z.string().min(1),
    description: z.string().optional(),
  }),
]);

const inputSchema = z.object({
  question: z.string().min(1).describe('The question, ending with "?". Ask one thing at a time.'),
  options: z
    .array(option)
    .max(8)
    .optional()
    .describe('2 to 4 short choices the user can pick from; they may also answer in their own words.'),
  multi_select: z.boolean().optional().describe('Let the user pick more than one choice.'),
});

type AskUserQuestionInput = z.output<typeof inputSchema>;

function normalise(input: AskUserQuestionInput): UserQuestion {
  return {
    question: input.question.trim(),
    options: (input.options ?? []).map((item) =>
      typeof item === 'string'
        ? { label: item.trim() }
        : { label: item.label.trim(), ...(item.description ? { description: item.description } : {}) },
    ),
    multiSelect: input.multi_select ?? false,
  };
}

function asAnswer(question: UserQuestion, answer: UserQuestionAnswer | string): UserQuestionAnswer {
  if (typeof answer !== 'string') return answer;
  const text = answer.trim();
  if (text === '') return { kind: 'declined' };
  if (question.multiSelect && /^\d+(\s*[, ]\s*\d+)+$/.test(text)) {
    const picked = text.split(/[\s,]+/).map((number) => question.options[Number(number) - 1]);
    if (picked.every((item) => item !== undefined)) {
      return { kind: 'selected', labels: picked.map((item) => item!.label) };
    }
  }
  const byNumber = /^\d+$/.test(text) ? question.options[Number(text) - 1] : undefined;
  const byLabel = question.options.find((item) => item.label.toLowerCase() === text.toLowerCase());
  const picked = byNumber ?? byLabel;
  return picked ? { kind: 'selected', labels: [picked.label] } : { kind: 'other', text };
}

/**
 * The text the model reads for the user's answer. Hosts that ask remotely (the daemon's
 * pass-through) send it back as the call's result, so the model reads the same words either way.
 *
 * @example
 * ```ts
 * formatUserAnswer({ kind: 'selected', labels: ['PostgreSQL'] }); // 'The user chose: "PostgreSQL".'
 * ```
 */
export function formatUserAnswer(answer: UserQuestionAnswer): string {
  switch (answer.kind) {
    case 'selected':
      return `The user chose: ${answer.labels.map((label) => JSON.stringify(label)).join(', ')}.`;
    case 'other':
      return `The user answered: ${answer.text}`;
    default:
      return `The user did not answer${answer.reason ? ` (${answer.reason})` : ''}. Continue with your best judgement and say what you assumed, or ask something else.`;
  }
}

/**
 * AskUserQuestion, the original Shammah's plan-mode tool: the model asks the user a question with a
 * few choices and waits for the answer. Its kind is `read` (it changes nothing), so it runs without a
 * permission prompt; plan mode offers it.
 */
export function createAskUserQuestionTool(
  options: AskUserQuestionToolOptions = {},
): Tool<AskUserQuestionInput, AskUserQuestionData> {
  return defineTool({
    name: 'AskUserQuestion',
    aliases: ['ask_user', 'ask_question'],
    description:
      'Ask the user a question when you need a decision or a fact only they know (which approach, which file, ' +
      'what they meant). Offer 2 to 4 short choices when you can. Wait for the answer before going on.',
    inputSchema,
    inputAliases: { choices: 'options', multiSelect: 'multi_select', text: 'question' },
    kind: 'read',
    permissionTarget: (input) => ({ type: 'none', detail: input.question }),
    async execute(input, context) {
      const question = normalise(input);
      if (!options.ask) {
        throw new ToolError(
          'user_unavailable',
          'No one can be asked in this session. Continue with your best judgement and state your assumptions.',
        );
      }
      const answer = asAnswer(question, await options.ask(question, { signal: context.signal }));
      return { text: formatUserAnswer(answer), data: { question, answer } };
    },
  });
}

/**
 * The question in an AskUserQuestion call, read as leniently as the tool reads it, for hosts that ask
 * the user remotely (a pass-through loop's pending call). Throws a `ToolInputError` when the input
 * is not a question.
 */
export function readUserQuestion(input: unknown): UserQuestion {
  const tool = createAskUserQuestionTool();
  return normalise(new ToolSet([tool]).parseInput(tool, input) as AskUserQuestionInput);
}

/** Reads a typed answer (a choice's number or label, or free text) as a {@link UserQuestionAnswer}. */
export function readUserAnswer(question: UserQuestion, text: string): UserQuestionAnswer {
  return asAnswer(question, text);
}
