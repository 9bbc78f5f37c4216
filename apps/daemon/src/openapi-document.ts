import { z } from 'zod';
import { countTokensRequestSchema, messagesRequestSchema } from './anthropic-schema.js';
import { feedbackRequestSchema, feedbackResponseSchema } from './feedback-endpoint.js';
import { chatCompletionRequestSchema } from './openai-schema.js';
import { statusSchema } from './status-endpoint.js';
import { trainingStatusSchema } from './training-status-endpoint.js';

type JsonSchema = Record<string, unknown>;

/** A zod schema as a JSON Schema (2020-12, as OpenAPI 3.1 takes it) for a request or a response. */
function schemaOf(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

const openaiErrorSchema = z.object({
  error: z.object({
    message: z.string().describe('What was wrong and what to do.'),
    type: z.string(),
    param: z.string().nullable().describe('The offending field, as a dotted path.'),
    code: z.string().nullable(),
  }),
});

const anthropicErrorSchema = z.object({
  type: z.literal('error'),
  error: z.object({ type: z.string(), message: z.string() }),
  request_id: z.string(),
});

const modelSchema = z.object({
  id: z.string(),
  object: z.literal('model'),
  created: z.number(),
  owned_by: z.string(),
});

const sessionSchema = z.object({
  id: z.string(),
  object: z.literal('session'),
  createdAt: z.string(),
  lastUsedAt: z.string(),
  turns: z.number(),
  active: z.number(),
  promptTokens: z.number(),
  cachedPromptTokens: z.number(),
  completionTokens: z.number(),
  lastRoute: z.string().optional(),
  lastModel: z.string().optional(),
});

function json(schema: JsonSchema, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

function errors(protocol: 'openai' | 'anthropic', statuses: Record<string, string>) {
  const schema = { $ref: `#/components/schemas/${protocol === 'openai' ? 'OpenAIError' : 'AnthropicError'}` };
  return Object.fromEntries(Object.entries(statuses).map(([status, text]) => [status, json(schema, text)]));
}

const ANSWER_HEADERS = {
  'x-request-id': {
    description: 'The request id (the client’s, when it sent a sane one).',
    schema: { type: 'string' },
  },
  'x-shammah-route': { description: 'Who answered: local, teacher or builtin.', schema: { type: 'string' } },
  'x-shammah-reason': {
    description: 'Why: the router’s reason code (local-default, forced-teacher, learned-low-success, …).',
    schema: { type: 'string' },
  },
  'x-shammah-model': { description: 'The answering model’s id.', schema: { type: 'string' } },
};

const REQUEST_ERRORS = {
  '400': 'The body is not valid: the message names the field and what it must be.',
  '401': 'The API key is missing or wrong (only when the daemon requires one).',
  '403': 'The request asks the daemon to run its own tools, and [server] tools is "off".',
  '404': 'The model named does not exist here (strict models, or "teacher" without teachers).',
  '413': 'The body is larger than the daemon accepts.',
  '415': 'The body is not sent as JSON.',
  '429': 'The local model’s queue is full; retry after the retry-after header.',
  '503': 'No model can answer now (still loading without a teacher, or shutting down).',
};

/**
 * The daemon's OpenAPI 3.1 document, generated from the same zod schemas that validate its requests,
 * served at `GET /openapi.json`.
 */
export function openApiDocument(options: { version: string; serverUrl?: string }): Record<string, unknown> {
  const serverTools = {
    name: 'x-shammah-tools',
    in: 'header',
    required: false,
    description:
      '"server": the daemon runs its own tools (Read, Glob, Grep; Write, Edit, Bash, WebFetch with ' +
      '[server] tools = "all") in tools_dir and returns only the final answer; "client" (default): tool ' +
      'calls pass through. Same as the body field shammah_tools.',
    schema: { type: 'string', enum: ['server', 'client'] },
  };
  const sessionId = {
    name: 'id',
    in: 'path',
    required: true,
    schema: { type: 'string', pattern: '^[\\w.:@-]{1,128}$' },
  };
  return {
    openapi: '3.1.0',
    info: {
      title: 'Shammah daemon',
      version: options.version,
      description:
        'OpenAI- and Anthropic-compatible APIs over Shammah’s local model and cloud teachers, with the ' +
        'original Shammah’s feedback, training and status endpoints. See docs/api.md for curl examples.',
    },
    servers: [{ url: options.serverUrl ?? 'http://127.0.0.1:11435' }],
    security: [{}, { bearer: [] }, { apiKey: [] }],
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'Required only when the daemon has API keys.',
        },
        apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' },
      },
      schemas: {
        OpenAIError: schemaOf(openaiErrorSchema, 'output'),
        AnthropicError: schemaOf(anthropicErrorSchema, 'output'),
      },
    },
    paths: {
      '/v1/chat/completions': {
        post: {
          summary: 'OpenAI chat completion, whole or streamed (SSE ending with data: [DONE])',
          description:
            '`model`: "shammah" or "auto" (the router decides), "local", "teacher" (forces a teacher), or a ' +
            'model id from GET /v1/models.',
          parameters: [serverTools],
          requestBody: {
            required: true,
            ...json(schemaOf(chatCompletionRequestSchema, 'input'), 'The request'),
          },
          responses: {
            '200': {
              description:
                'A chat.completion object, or with stream: true a text/event-stream of chat.completion.chunk',
              headers: ANSWER_HEADERS,
              content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': {} },
            },
            ...errors('openai', REQUEST_ERRORS),
          },
        },
      },
      '/v1/messages': {
        post: {
          summary: 'Anthropic Messages, whole or streamed',
          parameters: [serverTools],
          requestBody: { required: true, ...json(schemaOf(messagesRequestSchema, 'input'), 'The request') },
          responses: {
            '200': {
              description: 'A message object, or with stream: true a text/event-stream of Anthropic events',
              headers: ANSWER_HEADERS,
              content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': {} },
            },
            ...errors('anthropic', REQUEST_ERRORS),
          },
        },
      },
      '/v1/messages/count_tokens': {
        post: {
          summary: 'Counts a request’s prompt tokens with the local model’s tokenizer',
          requestBody: {
            required: true,
            ...json(schemaOf(countTokensRequestSchema, 'input'), 'The request'),
          },
          responses: {
            '200': json(
              {
                type: 'object',
                properties: { input_tokens: { type: 'integer' } },
                required: ['input_tokens'],
              },
              'The count',
            ),
            ...errors('anthropic', { '400': REQUEST_ERRORS['400'] }),
          },
        },
      },
      '/v1/models': {
        get: {
          summary: 'The models a request may name (Anthropic’s list shape with an anthropic-version header)',
          responses: {
            '200': json(
              schemaOf(z.object({ object: z.literal('list'), data: z.array(modelSchema) }), 'output'),
              'The models',
            ),
          },
        },
      },
      '/v1/models/{id}': {
        get: {
          summary: 'One model',
          parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }],
          responses: {
            '200': json(schemaOf(modelSchema, 'output'), 'The model'),
            ...errors('openai', { '404': 'No such model.' }),
          },
        },
      },
      '/v1/feedback': {
        post: {
          summary:
            'Rates an answer: queues a weighted LoRA training example and updates the router’s learning',
          description:
            'The original Shammah’s fields (query, response, weight, feedback), plus rating and correction. ' +
            'Give rating or weight. The routing part applies when the daemon answered this query locally ' +
            'recently (the router matches the query against its recent requests).',
          requestBody: { required: true, ...json(schemaOf(feedbackRequestSchema, 'input'), 'The feedback') },
          responses: {
            '200': json(schemaOf(feedbackResponseSchema, 'output'), 'What the feedback changed'),
            ...errors('openai', {
              '400': REQUEST_ERRORS['400'],
              '413': REQUEST_ERRORS['413'],
              '415': REQUEST_ERRORS['415'],
            }),
          },
        },
      },
      '/v1/training/status': {
        get: {
          summary: 'The LoRA training queue, a training in progress, and the adapters',
          responses: { '200': json(schemaOf(trainingStatusSchema, 'output'), 'The training status') },
        },
      },
      '/v1/status': {
        get: {
          summary: 'The model and its load state, routes taken, learning per category, queue and sessions',
          responses: { '200': json(schemaOf(statusSchema, 'output'), 'The status') },
        },
      },
      '/v1/sessions': {
        get: {
          summary: 'The sessions kept',
          responses: {
            '200': json(
              schemaOf(
                z.object({ object: z.literal('list'), data: z.array(sessionSchema.omit({ object: true })) }),
                'output',
              ),
              'The sessions',
            ),
          },
        },
      },
      '/v1/session/{id}': {
        get: {
          summary: 'One session: its turns, token counts and last route',
          parameters: [sessionId],
          responses: {
            '200': json(schemaOf(sessionSchema, 'output'), 'The session'),
            ...errors('openai', { '404': 'No such session.' }),
          },
        },
        delete: {
          summary: 'Forgets a session',
          parameters: [sessionId],
          responses: {
            '200': json(
              schemaOf(
                z.object({ id: z.string(), object: z.literal('session.deleted'), deleted: z.literal(true) }),
                'output',
              ),
              'Deleted',
            ),
            ...errors('openai', { '404': 'No such session.' }),
          },
        },
      },
      '/health': {
        get: {
          summary: 'Liveness and the local model’s state',
          responses: { '200': json({ type: 'object' }, 'The health report') },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          responses: { '200': { description: 'Prometheus text format', content: { 'text/plain': {} } } },
        },
      },
      '/openapi.json': {
        get: {
          summary: 'This document',
          responses: { '200': json({ type: 'object' }, 'The OpenAPI document') },
        },
      },
    },
  };
}
