import { z } from 'zod';

/**
 * The request body of OpenAI's `POST /v1/chat/completions`, as documented in the API reference.
 * Unknown fields are accepted and ignored (clients send newer parameters this server does not use);
 * fields the server reads are checked for type and range.
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const imagePart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string(), detail: z.string().optional() }),
});
const audioPart = z.object({ type: z.literal('input_audio'), input_audio: z.unknown() });
const filePart = z.object({ type: z.literal('file'), file: z.unknown() });
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() });

const textContent = z.union([z.string(), z.array(textPart)], {
  error: 'must be a string or an array of text parts ({"type": "text", "text": "…"})',
});
const userContent = z.union(
  [z.string(), z.array(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart]))],
  { error: 'must be a string or an array of content parts (text or image_url)' },
);

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function').optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const systemMessage = z.object({
  role: z.enum(['system', 'developer']),
  content: textContent,
  name: z.string().optional(),
});
const userMessage = z.object({ role: z.literal('user'), content: userContent, name: z.string().optional() });
const assistantMessage = z.object({
  role: z.literal('assistant'),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion('type', [textPart, refusalPart]))], {
      error: 'must be a string, null, or an array of text parts',
    })
    .nullish(),
  name: z.string().optional(),
  refusal: z.string().nullish(),
  tool_calls: z.array(toolCall).nullish(),
  function_call: z.object({ name: z.string(), arguments: z.string() }).nullish(),
});
const toolMessage = z.object({ role: z.literal('tool'), content: textContent, tool_call_id: z.string() });
const functionMessage = z.object({
  role: z.literal('function'),
  content: z.string().nullable(),
  name: z.string(),
});

/** One message of `messages`. */
export const openaiMessageSchema = z.discriminatedUnion(
  'role',
  [systemMessage, userMessage, assistantMessage, toolMessage, functionMessage],
  { error: 'must be a message with a role of "system", "developer", "user", "assistant" or "tool"' },
);

const functionTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, underscores or dashes'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
});

const toolChoice = z.union(
  [
    z.enum(['none', 'auto', 'required']),
    z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
    z.object({ type: z.literal('allowed_tools'), allowed_tools: z.unknown() }),
  ],
  { error: 'must be "none", "auto", "required" or {"type": "function", "function": {"name": "…"}}' },
);

function required(missing: string, wrong: string) {
  return { error: (issue: { input?: unknown }) => (issue.input === undefined ? missing : wrong) };
}

/** The body of `POST /v1/chat/completions`. */
export const chatCompletionRequestSchema = z.object({
  model: z
    .string(required('is required: the model to use (GET /v1/models lists them)', 'must be a string'))
    .min(1),
  messages: z
    .array(openaiMessageSchema, required('is required: an array of messages', 'must be an array of messages'))
    .min(1, 'must hold at least one message'),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().min(1).nullish(),
  max_completion_tokens: z.number().int().min(1).nullish(),
  n: z.number().int().min(1).nullish(),
  stop: z
    .union([z.string(), z.array(z.string()).max(16)], { error: 'must be a string or an array of strings' })
    .nullish(),
  seed: z.number().int().nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  tools: z.array(functionTool).nullish(),
  tool_choice: toolChoice.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  user: z.string().nullish(),
  metadata: z.record(z.string(), z.string()).nullish(),
  /** Shammah: `"server"` asks the daemon to run its own tools (see `x-shammah-tools`). */
  shammah_tools: z.string({ error: 'must be "server" or "client"' }).nullish(),
  response_format: z
    .object({ type: z.enum(['text', 'json_object', 'json_schema']) })
    .loose()
    .nullish(),
});

/** A parsed chat completion request. */
export type ChatCompletionRequest = z.output<typeof chatCompletionRequestSchema>;
/** A parsed OpenAI message. */
export type OpenAIMessage = z.output<typeof openaiMessageSchema>;
