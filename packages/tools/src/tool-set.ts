import type { JsonSchema, ToolDefinition } from '@shammah/provider';
import { jsonrepair } from 'jsonrepair';
import { z } from 'zod';
import { ToolInputError, UnknownToolError } from './errors.js';
import type { AnyTool } from './tool.js';
import { canonicalToolName, normalizeToolName } from './tool-names.js';

function jsonSchemaOf(tool: AnyTool): JsonSchema {
  if (tool.inputJsonSchema) {
    const { $schema: _ignored, ...given } = tool.inputJsonSchema;
    return given;
  }
  const { $schema: _ignored, ...schema } = z.toJSONSchema(tool.inputSchema, { io: 'input' }) as JsonSchema;
  return schema;
}

/**
 * A set of tools the model may call: finds a tool by any name a model uses for it, describes the
 * tools for chat APIs and prompts, and validates a call's input against the tool's schema.
 *
 * @example
 * ```ts
 * const tools = new ToolSet(createCodingTools());
 * tools.get('web_fetch')?.name; // 'WebFetch'
 * ```
 */
export class ToolSet {
  readonly tools: readonly AnyTool[];
  private readonly byName = new Map<string, AnyTool>();
  private readonly schemas = new Map<AnyTool, JsonSchema>();

  constructor(tools: readonly AnyTool[]) {
    this.tools = tools;
    for (const tool of tools) {
      if (this.byName.has(normalizeToolName(tool.name))) {
        throw new Error(`Two tools are named "${tool.name}"; tool names must be unique.`);
      }
      this.byName.set(normalizeToolName(tool.name), tool);
    }
    for (const tool of tools) {
      for (const alias of tool.aliases ?? []) {
        if (!this.byName.has(normalizeToolName(alias))) this.byName.set(normalizeToolName(alias), tool);
      }
    }
  }

  /** The tool a model means by `name`: exact, case-insensitive, an alias, or an original Shammah name. */
  get(name: string): AnyTool | undefined {
    return (
      this.byName.get(normalizeToolName(name)) ?? this.byName.get(normalizeToolName(canonicalToolName(name)))
    );
  }

  /** The tools' names. */
  names(): string[] {
    return this.tools.map((tool) => tool.name);
  }

  /** The tool's input as JSON Schema (draft 2020-12, without `$schema`). */
  inputJsonSchema(tool: AnyTool): JsonSchema {
    let schema = this.schemas.get(tool);
    if (!schema) {
      schema = jsonSchemaOf(tool);
      this.schemas.set(tool, schema);
    }
    return schema;
  }

  /** The tools as {@link ToolDefinition}s for `ChatRequest.tools`. */
  definitions(): ToolDefinition[] {
    return this.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      inputSchema: this.inputJsonSchema(tool),
    }));
  }

  /** The tool for a call, or an {@link UnknownToolError} naming the tools there are. */
  resolve(name: string): AnyTool {
    const tool = this.get(name);
    if (!tool) throw new UnknownToolError(name, this.names());
    return tool;
  }

  /**
   * Validates a call's input, forgiving what small models get wrong: arguments sent as a JSON string,
   * a bare string for a one-argument tool, key aliases (`path` for `file_path`), and numbers or
   * booleans written as strings. Throws {@link ToolInputError} quoting what is wrong.
   */
  parseInput(tool: AnyTool, raw: unknown): unknown {
    const schema = this.inputJsonSchema(tool);
    const properties = (schema.properties ?? {}) as Record<string, { type?: string }>;
    const required = (schema.required ?? []) as string[];
    let input = raw ?? {};
    if (typeof input === 'string') {
      const text = input;
      try {
        input = JSON.parse(jsonrepair(text));
      } catch {
        input = text;
      }
      if (typeof input !== 'object' || input === null) {
        const only = required.length === 1 ? required[0]! : undefined;
        input = only && properties[only]?.type === 'string' ? { [only]: text } : text;
      }
    }
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
      const record: Record<string, unknown> = { ...(input as Record<string, unknown>) };
      for (const [alias, key] of Object.entries(tool.inputAliases ?? {})) {
        if (record[key] === undefined && record[alias] !== undefined) {
          record[key] = record[alias];
          delete record[alias];
        }
      }
      for (const [key, value] of Object.entries(record)) {
        const type = properties[key]?.type;
        if (typeof value !== 'string') continue;
        if (type === 'boolean' && /^(true|false)$/i.test(value.trim()))
          record[key] = value.trim().toLowerCase() === 'true';
        if (
          (type === 'integer' || type === 'number') &&
          value.trim() !== '' &&
          Number.isFinite(Number(value))
        ) {
          record[key] = Number(value);
        }
      }
      input = record;
    }
    const parsed = tool.inputSchema.safeParse(input);
    if (!parsed.success) {
      throw new ToolInputError(
        tool.name,
        `${z.prettifyError(parsed.error)}\nThe input must match this JSON Schema: ${JSON.stringify(schema)}`,
        { cause: parsed.error },
      );
    }
    return parsed.data;
  }
}
