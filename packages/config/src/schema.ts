import { z } from 'zod';

const teacher = z
  .object({
    provider: z.string().min(1),
    api_key: z.string().optional(),
    model: z.string().optional(),
    base_url: z.string().optional(),
    name: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeout_seconds: z.number().positive().optional(),
    max_retries: z.number().int().min(0).optional(),
    price: z
      .object({ input: z.number().min(0), output: z.number().min(0) })
      .strict()
      .optional(),
    context_length: z.number().int().positive().optional(),
    max_output_tokens: z.number().int().positive().optional(),
  })
  .strict();

const mcpServer = z
  .object({
    transport: z.enum(['stdio', 'sse', 'http', 'streamable-http']).default('stdio'),
    command: z.string().optional(),
    args: z.array(z.string()).default([]),
    env: z.record(z.string(), z.string()).default({}),
    url: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    enabled: z.boolean().default(true),
    timeout_seconds: z.number().positive().optional(),
  })
  .strict();

const permissionRule = z
  .object({
    tool: z.string().min(1),
    pattern: z.string().default('*'),
    action: z.enum(['allow', 'deny', 'ask']),
  })
  .strict();

/** config.toml, as Shammah reads it: the original's format plus Shammah's own sections. */
export const configSchema = z
  .object({
    tui_enabled: z.boolean().default(true),
    /** Older files kept this at the top level; it moved to [features]. */
    streaming_enabled: z.boolean().optional(),
    backend: z
      .object({
        enabled: z.boolean().default(true),
        inference_provider: z.enum(['onnx', 'candle']).default('onnx'),
        execution_target: z
          .enum(['auto', 'cpu', 'cuda', 'coreml', 'dml', 'directml', 'metal'])
          .default('auto'),
        fallback_chain: z.array(z.string()).default(['cpu']),
        model_family: z.string().default('Qwen2'),
        model_size: z.enum(['Small', 'Medium', 'Large', 'XLarge']).optional(),
        model_repo: z.string().optional(),
        model_path: z.string().optional(),
        /** ONNX variant: auto, q4, int8, fp32, … */
        variant: z.string().default('auto'),
        threads: z.number().int().positive().optional(),
      })
      .strict()
      .prefault({}),
    teachers: z.array(teacher).default([]),
    /** The oldest format: `[fallback] provider = "claude"` with `[fallback.claude] api_key = …`. */
    fallback: z.record(z.string(), z.unknown()).optional(),
    client: z
      .object({
        use_daemon: z.boolean().default(true),
        daemon_address: z.string().default('127.0.0.1:11435'),
        auto_spawn: z.boolean().default(true),
        timeout_seconds: z.number().positive().default(120),
      })
      .strict()
      .prefault({}),
    server: z
      .object({
        bind_address: z.string().default('127.0.0.1:11435'),
        max_sessions: z.number().int().positive().default(100),
        session_timeout_minutes: z.number().positive().default(30),
        auth_enabled: z.boolean().default(false),
        api_keys: z.array(z.string()).default([]),
        max_queue: z.number().int().positive().default(32),
        /** Requests the local model decodes together in one batch (1 turns batching off). */
        batch_size: z.number().int().min(1).max(64).default(4),
        /**
         * Whether the daemon runs Shammah's own tools for clients that ask it to (`x-shammah-tools: server`):
         * `off` (tool calls always pass through to the client), `read-only` (Read, Glob, Grep inside
         * `tools_dir`) or `all` (also Write, Edit, Bash, WebFetch; refused on a non-loopback bind without auth).
         */
        tools: z.enum(['off', 'read-only', 'all']).default('off'),
        /** Where server-side tools run and which files they may use; empty means the daemon's working directory. */
        tools_dir: z.string().default(''),
      })
      .strict()
      .prefault({}),
    features: z
      .object({
        auto_approve_tools: z.boolean().default(false),
        streaming_enabled: z.boolean().default(true),
        debug_logging: z.boolean().default(false),
        gui_automation: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    mcp_servers: z.record(z.string(), mcpServer).default({}),
    permissions: z.array(permissionRule).default([]),
    router: z
      .object({
        confidence_threshold: z.number().optional(),
        learning: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    lora: z
      .object({
        auto_train: z.boolean().default(false),
        min_new_examples: z.number().int().positive().default(10),
        learn_from_teachers: z.boolean().default(false),
        epochs: z.number().positive().optional(),
        learning_rate: z.number().positive().optional(),
        rank: z.number().int().positive().optional(),
        alpha: z.number().positive().optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();

/** The whole configuration, defaults filled in. */
export type ShammahConfig = z.output<typeof configSchema>;
/** One `[[teachers]]` entry. */
export type TeacherEntry = z.output<typeof teacher>;
/** One `[mcp_servers.NAME]` table. */
export type McpServerEntry = z.output<typeof mcpServer>;
/** One `[[permissions]]` rule. */
export type PermissionRuleEntry = z.output<typeof permissionRule>;
