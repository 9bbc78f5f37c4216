import type { ToolDefinition } from '@shammah/provider';
import type { AnyTool } from './tool.js';
import { ToolSet } from './tool-set.js';

/** Options of {@link buildToolSystemPrompt}. */
export interface ToolSystemPromptOptions {
  /** The tools, as a set, a list of tools, or definitions. */
  tools: ToolSet | readonly AnyTool[] | readonly ToolDefinition[];
  /** Text that comes before the tools section: who the assistant is, the project, the rules. */
  instructions?: string;
  /** Show one worked call, which helps models under 2B parameters (default true). */
  example?: boolean;
}

function definitionsOf(tools: ToolSystemPromptOptions['tools']): ToolDefinition[] {
  if (tools instanceof ToolSet) return tools.definitions();
  if (tools.length > 0 && 'execute' in tools[0]!)
    return new ToolSet(tools as readonly AnyTool[]).definitions();
  return [...(tools as readonly ToolDefinition[])];
}

/**
 * Describes tools to a local model in the Hermes format that Qwen2.5's chat template uses (and that
 * SmolLM2 understands): function signatures inside `<tools></tools>`, calls inside
 * `<tool_call></tool_call>`, results coming back inside `<tool_response></tool_response>`. The
 * {@link IncrementalToolCallParser} reads what this asks for.
 *
 * @example
 * ```ts
 * const system = buildToolSystemPrompt({ tools, instructions: 'You are Shammah, a coding assistant.' });
 * ```
 */
export function buildToolSystemPrompt(options: ToolSystemPromptOptions): string {
  const definitions = definitionsOf(options.tools);
  const signatures = definitions
    .map((tool) =>
      JSON.stringify({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
      }),
    )
    .join('\n');
  const sections: string[] = [];
  if (options.instructions?.trim()) sections.push(options.instructions.trim());
  sections.push(
    [
      '# Tools',
      '',
      'You may call one or more functions to assist with the user query.',
      '',
      'You are provided with function signatures within <tools></tools> XML tags:',
      '<tools>',
      signatures,
      '</tools>',
      '',
      'For each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:',
      '<tool_call>',
      '{"name": <function-name>, "arguments": <args-json-object>}',
      '</tool_call>',
    ].join('\n'),
  );
  const first = definitions[0];
  if (options.example !== false && first) {
    const read = definitions.find((tool) => tool.name === 'Read');
    const exampleCall = read
      ? { name: 'Read', arguments: { file_path: 'README.md' } }
      : { name: first.name, arguments: {} };
    sections.push(
      [
        'For example:',
        '<tool_call>',
        JSON.stringify(exampleCall),
        '</tool_call>',
        '',
        'Each result comes back inside <tool_response></tool_response> tags. Call a tool only when you need it,',
        'and wait for its result; when you have what you need, answer the user in plain text without a tool call.',
      ].join('\n'),
    );
  }
  return sections.join('\n\n');
}
