import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import type { ChatMessage, ToolDefinition } from '@shammah/provider';
import { contentText } from '@shammah/provider';
import { UnsupportedModelError } from './errors.js';
import type { ModelFamily } from './model-family.js';
import type { ModelFiles } from './model-files.js';

/** A message in the shape chat templates expect (the Hugging Face / OpenAI convention). */
interface TemplateMessage {
  role: string;
  content: string;
  tool_calls?: Array<{
    id: string;
    type: 'function';
    function: { name: string; arguments: Record<string, unknown> };
  }>;
  tool_call_id?: string;
  name?: string;
}

const FALLBACK_CHATML =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

function tokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'content' in value)
    return String((value as { content: unknown }).content);
  return undefined;
}

/** Converts our messages to the shape chat templates read. */
export function toTemplateMessages(messages: readonly ChatMessage[], family: ModelFamily): TemplateMessage[] {
  const out: TemplateMessage[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
      case 'user':
        out.push({ role: message.role, content: contentText(message.content) });
        break;
      case 'assistant': {
        const calls =
          typeof message.content === 'string'
            ? []
            : message.content.filter((part) => part.type === 'tool-call');
        out.push({
          role: 'assistant',
          content: contentText(message.content),
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((call) => ({
                  id: call.id,
                  type: 'function' as const,
                  function: { name: call.name, arguments: (call.input ?? {}) as Record<string, unknown> },
                })),
              }
            : {}),
        });
        break;
      }
      case 'tool':
        for (const result of message.content) {
          out.push({
            role: 'tool',
            content: contentText(result.content),
            tool_call_id: result.toolCallId,
            name: result.toolName,
          });
        }
        break;
    }
  }
  if (!family.systemRole && out[0]?.role === 'system') {
    const system = out.shift()!;
    const firstUser = out.find((message) => message.role === 'user');
    if (firstUser) firstUser.content = `${system.content}\n\n${firstUser.content}`;
    else out.unshift({ role: 'user', content: system.content });
  }
  return out;
}

/**
 * The model's tokenizer and chat template: text to ids and back, and a conversation to the exact
 * prompt the model was trained on.
 */
export class ChatTokenizer {
  readonly #tokenizer: Tokenizer;
  readonly #template: Template;
  readonly #specialTokens: Record<string, string>;
  readonly #family: ModelFamily;
  /** Ids of every special (added) token, so decoding can drop them. */
  readonly specialIds: ReadonlySet<number>;
  /**
   * Whether the chat template shows the model tool definitions. Some templates of a family that
   * otherwise has them (DeepSeek-R1-Distill-Qwen among the Qwen2 models) ignore `tools` entirely.
   */
  readonly supportsTools: boolean;

  constructor(files: ModelFiles, family: ModelFamily) {
    this.#family = family;
    this.#tokenizer = new Tokenizer(files.tokenizerJson, files.tokenizerConfig);
    try {
      this.#template = new Template(files.chatTemplate ?? FALLBACK_CHATML);
    } catch (error) {
      throw new UnsupportedModelError(
        `The chat template of the model in ${files.dir} could not be parsed (${(error as Error).message}).`,
        { cause: error },
      );
    }
    const config = files.tokenizerConfig;
    this.#specialTokens = {};
    for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token']) {
      const text = tokenText(config[key]);
      if (text !== undefined) this.#specialTokens[key] = text;
    }
    this.specialIds = new Set(
      [...this.#tokenizer.get_added_tokens_decoder().entries()]
        .filter(([, token]) => token.special)
        .map(([id]) => id),
    );
    const source = files.chatTemplate ?? FALLBACK_CHATML;
    this.supportsTools = /\btools\b/.test(source);
    if (family.systemRole && !this.#keepsSystemTurn()) this.#family = { ...family, systemRole: false };
  }

  /**
   * Whether the template renders a system turn: some raise on one (Gemma, Mistral v0.1) and some
   * silently drop it (early Phi-3), so a system prompt has to go into the first user turn instead.
   */
  #keepsSystemTurn(): boolean {
    const marker = 'c2h5-system-probe';
    try {
      const text = this.#template.render({
        messages: [
          { role: 'system', content: marker },
          { role: 'user', content: 'hello' },
        ],
        add_generation_prompt: true,
        ...this.#specialTokens,
      });
      return text.includes(marker);
    } catch {
      return false;
    }
  }

  /** Token ids of a text, without special tokens added around it. */
  encode(text: string): number[] {
    return this.#tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  /** Text of token ids; special tokens are dropped unless asked for. */
  decode(ids: readonly number[], keepSpecial = false): string {
    if (ids.length === 0) return '';
    return this.#tokenizer.decode([...ids], { skip_special_tokens: !keepSpecial });
  }

  /** The id of a token given by its text, if the vocabulary has it. */
  tokenId(text: string): number | undefined {
    return this.#tokenizer.token_to_id(text);
  }

  /** The text of one token id. */
  tokenText(id: number): string | undefined {
    return this.#tokenizer.id_to_token(id);
  }

  /** Renders a conversation with the model's own chat template, ready for the assistant to answer. */
  renderChat(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): string {
    const context: Record<string, unknown> = {
      messages: toTemplateMessages(messages, this.#family),
      add_generation_prompt: true,
      ...this.#specialTokens,
    };
    if (tools && tools.length > 0) {
      context.tools = tools.map((tool) => ({
        type: 'function',
        function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
      }));
    }
    return this.#template.render(context);
  }

  /** The conversation as token ids, as the model will read it. */
  encodeChat(messages: readonly ChatMessage[], tools?: readonly ToolDefinition[]): number[] {
    return this.encode(this.renderChat(messages, tools));
  }
}
