import { z } from 'zod';

/**
 * The request body of Anthropic's `POST /v1/messages` (and `/v1/messages/count_tokens`), as documented
 * in the Messages API reference. Unknown fields are accepted and ignored; fields the server reads are
 * checked.
 */

const cacheControl = z.unknown().optional();

const textBlock = z.object({
  type: z.literal('text'),
  text: z.string(),
  cache_control: cacheControl,
  citations: z.unknown().optional(),
});
const imageSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.string(), data: z.string() }),
  z.object({ type: z.literal('url'), url: z.string() }),
  z.object({ type: z.literal('file'), file_id: z.string() }),
]);
const imageBlock = z.object({ type: z.literal('image'), source: imageSource, cache_control: cacheControl });
const toolUseBlock = z.object({
  type: z.literal('tool_use'),
  id: z.string(),
  name: z.string(),
  input: z.unknown(),
  cache_control: cacheControl,
});
const toolResultBlock = z.object({
  type: z.literal('tool_result'),
  tool_use_id: z.string(),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))], {
      error: 'must be a string or an array of text and image blocks',
    })
    .optional(),
  is_error: z.boolean().optional(),
  cache_control: cacheControl,
});
const documentBlock = z.object({ type: z.literal('document') }).loose();
const thinkingBlock = z.object({ type: z.enum(['thinking', 'redacted_thinking']) }).loose();

/** A content block of a message. */
export const anthropicBlockSchema = z.discriminatedUnion(
  'type',
  [textBlock, imageBlock, toolUseBlock, toolResultBlock, documentBlock, thinkingBlock],
  { error: 'must be a content block of type "text", "image", "tool_use" or "tool_result"' },
);

/** One message of `messages`. */
export const anthropicMessageSchema = z.object({
  role: z.enum(['user', 'assistant'], { error: 'must be "user" or "assistant"' }),
  content: z.union([z.string(), z.array(anthropicBlockSchema)], {
    error: 'must be a string or an array of content blocks',
  }),
});

const tool = z.object({
  name: z.string().regex(/^[a-zA-Z0-9_-]{1,128}$/, 'must be 1–128 letters, digits, underscores or dashes'),
  description: z.string().optional(),
  input_schema: z.object({ type: z.literal('object') }).loose(),
  type: z.literal('custom').optional(),
  cache_control: cacheControl,
});

const toolChoice = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('auto'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({ type: z.literal('any'), disable_parallel_tool_use: z.boolean().optional() }),
    z.object({
      type: z.literal('tool'),
      name: z.string(),
      disable_parallel_tool_use: z.boolean().optional(),
    }),
    z.object({ type: z.literal('none') }),
  ],
  { error: 'must be {"type": "auto"}, {"type": "any"}, {"type": "tool", "name": "…"} or {"type": "none"}' },
);

function required(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? 'Field required' : `Input should be ${what}`,
  };
}

const system = z
  .union([z.string(), z.array(textBlock)], { error: 'must be a string or an array of text blocks' })
  .optional();

/** The fields `/v1/messages` and `/v1/messages/count_tokens` share. */
const common = {
  model: z.string(required('a valid string')).min(1),
  messages: z
    .array(anthropicMessageSchema, required('a valid list'))
    .min(1, 'at least one message is required'),
  system,
  tools: z.array(tool, { error: 'must be an array of tools' }).optional(),
  tool_choice: toolChoice.optional(),
};

/** The body of `POST /v1/messages`. */
export const messagesRequestSchema = z.object({
  ...common,
  max_tokens: z.number(required('a valid integer')).int().min(1),
  stop_sequences: z.array(z.string()).optional(),
  stream: z.boolean().optional(),
  temperature: z.number().min(0).max(1).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  metadata: z.object({ user_id: z.string().nullish() }).loose().optional(),
  thinking: z.unknown().optional(),
  /** Shammah: `"server"` asks the daemon to run its own tools (see `x-shammah-tools`). */
  shammah_tools: z.string({ error: 'must be "server" or "client"' }).nullish(),
});

/** The body of `POST /v1/messages/count_tokens`. */
export const countTokensRequestSchema = z.object(common);

/** A parsed `/v1/messages` request. */
export type MessagesRequest = z.output<typeof messagesRequestSchema>;
/** A parsed `/v1/messages/count_tokens` request. */
export type CountTokensRequest = z.output<typeof countTokensRequestSchema>;
/** A parsed Anthropic message. */
export type AnthropicMessage = z.output<typeof anthropicMessageSchema>;
