import {
  type ChatRequest,
  type ChatStreamPart,
  collectStream,
  type ModelCapabilities,
} from '@shammah/provider';
import type { LocalModel } from '@shammah/router';
import { type AnyTool, ToolSet, textToolCalls } from '@shammah/tools';

const PARAMETER_PATTERN = /(\d+(?:\.\d+)?)\s*([mb])(?![a-z])/i;

/**
 * Whether a local model is big enough to be offered tools. Models under 0.3 billion parameters
 * (SmolLM2-135M, -360M) cannot follow a tool description: it costs them a long prefill and they
 * answer worse, so they answer without tools. Read from the model's name; unknown sizes get tools.
 */
export function localModelUsesTools(modelId: string): boolean {
  const match = PARAMETER_PATTERN.exec(modelId.split('/').at(-1) ?? modelId);
  if (!match) return true;
  const billions = Number(match[1]) * (match[2]!.toLowerCase() === 'm' ? 0.001 : 1);
  return billions >= 0.3;
}

/**
 * The local model as a model that takes tools natively: the tool loop and the router see one kind
 * of model. Requests with tools get the tools described in the system prompt (Hermes format) and
 * earlier calls rendered as text, and calls the model writes are parsed from its text into
 * `tool-call` parts. With `offerTools: false` the model answers without tools.
 */
export function withTextToolCalls(
  model: LocalModel,
  options: { tools: readonly AnyTool[]; offerTools: boolean },
): LocalModel {
  const withTools = textToolCalls();
  const withoutTools = textToolCalls({ systemPrompt: false });
  const wrapped: LocalModel = {
    provider: model.provider,
    get modelId() {
      return model.modelId;
    },
    get status() {
      return model.status;
    },
    get capabilities(): ModelCapabilities {
      return { ...model.capabilities, tools: true };
    },
    async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
      if (!request.tools?.length) {
        yield* model.stream(request);
        return;
      }
      const names = new Set(request.tools.map((tool) => tool.name));
      const tools = new ToolSet(options.tools.filter((tool) => names.has(tool.name)));
      const strategy = options.offerTools ? withTools : withoutTools;
      const prepared = strategy.prepareRequest(request, tools);
      const extractor = strategy.createExtractor(tools);
      let calls = 0;
      for await (const part of model.stream(prepared)) {
        if (part.type === 'text-delta') {
          for (const extracted of extractor.push(part)) {
            if (extracted.type === 'text') yield { type: 'text-delta', text: extracted.text };
            else if (extracted.type === 'tool-call') {
              calls++;
              yield { type: 'tool-call', ...extracted.call };
            }
          }
          continue;
        }
        if (part.type === 'finish') {
          for (const extracted of extractor.end()) {
            if (extracted.type === 'text') yield { type: 'text-delta', text: extracted.text };
            else if (extracted.type === 'tool-call') {
              calls++;
              yield { type: 'tool-call', ...extracted.call };
            }
          }
          yield calls > 0 && part.finishReason === 'stop' ? { ...part, finishReason: 'tool-calls' } : part;
          continue;
        }
        yield part;
      }
    },
    generate(request) {
      return collectStream(wrapped.stream(request));
    },
  };
  return wrapped;
}
