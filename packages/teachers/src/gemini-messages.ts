import type { ChatMessage, ChatRequest, ImagePart, TextPart, ToolChoice } from '@shammah/provider';

/** A `Part` of Gemini's `Content`. */
export type GeminiPart = Record<string, unknown>;

/** A `Content` of Gemini's `generateContent` request. */
export interface GeminiContent {
  role: 'user' | 'model';
  parts: GeminiPart[];
}

/** Ids this package made up for Gemini calls that came without one; they are never sent back. */
export const localCallIdPrefix = 'gemini-call-';

/**
 * Gemini 3 rejects a function call sent back without the `thoughtSignature` it came with. When the
 * signature is unknown (the call came from another provider or an earlier process), Google documents
 * this value to skip the check.
 */
export const skipThoughtSignature = 'skip_thought_signature_validator';

function inlineData(image: ImagePart): GeminiPart {
  return { inlineData: { mimeType: image.mediaType, data: image.data } };
}

function parts(content: string | Array<TextPart | ImagePart>): GeminiPart[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return content.map((part) => (part.type === 'text' ? { text: part.text } : inlineData(part)));
}

/** What the mapping needs to know about earlier calls. */
export interface GeminiMappingOptions {
  /** The thought signature that came with a function call, by call id. */
  signatureOf(toolCallId: string): string | undefined;
  /** Whether to send {@link skipThoughtSignature} for calls whose signature is unknown (Gemini 3). */
  requireSignatures: boolean;
}

/** Maps Shammah messages to Gemini's `systemInstruction` and `contents`. */
export function toGeminiContents(
  messages: readonly ChatMessage[],
  options: GeminiMappingOptions,
): { systemInstruction: string | undefined; contents: GeminiContent[] } {
  const system: string[] = [];
  const contents: GeminiContent[] = [];
  const push = (role: 'user' | 'model', newParts: GeminiPart[]) => {
    if (newParts.length === 0) return;
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...newParts);
    else contents.push({ role, parts: newParts });
  };
  const wireId = (id: string) => (id.startsWith(localCallIdPrefix) ? {} : { id });
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', parts(message.content));
        break;
      case 'assistant': {
        if (typeof message.content === 'string') {
          push('model', parts(message.content));
          break;
        }
        let firstCall = true;
        push(
          'model',
          message.content.flatMap((part): GeminiPart[] => {
            if (part.type === 'text') return part.text === '' ? [] : [{ text: part.text }];
            const signature =
              options.signatureOf(part.id) ??
              (firstCall && options.requireSignatures ? skipThoughtSignature : undefined);
            firstCall = false;
            return [
              {
                functionCall: {
                  ...wireId(part.id),
                  name: part.name,
                  args: typeof part.input === 'object' && part.input !== null ? part.input : {},
                },
                ...(signature ? { thoughtSignature: signature } : {}),
              },
            ];
          }),
        );
        break;
      }
      case 'tool': {
        const images: GeminiPart[] = [];
        const responses = message.content.map((result): GeminiPart => {
          const resultParts =
            typeof result.content === 'string'
              ? [{ type: 'text', text: result.content } as const]
              : result.content;
          const text = resultParts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
          for (const part of resultParts) if (part.type === 'image') images.push(inlineData(part));
          return {
            functionResponse: {
              ...wireId(result.toolCallId),
              name: result.toolName,
              response: result.isError ? { error: text } : { output: text },
            },
          };
        });
        // Images a tool returned follow its response in the same user turn.
        push('user', [...responses, ...images]);
        break;
      }
    }
  }
  return { systemInstruction: system.length > 0 ? system.join('\n\n') : undefined, contents };
}

function functionCallingConfig(choice: ToolChoice): Record<string, unknown> {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.name] };
}

/** The `contents` and `config` of a `generateContent` call for `request`. */
export function toGeminiRequest(
  request: ChatRequest,
  options: GeminiMappingOptions,
): { contents: GeminiContent[]; config: Record<string, unknown> } {
  const { systemInstruction, contents } = toGeminiContents(request.messages, options);
  const config: Record<string, unknown> = {};
  if (systemInstruction !== undefined) config.systemInstruction = systemInstruction;
  if (request.tools && request.tools.length > 0) {
    config.tools = [
      {
        functionDeclarations: request.tools.map((tool) => ({
          name: tool.name,
          description: tool.description,
          parametersJsonSchema: tool.inputSchema,
        })),
      },
    ];
    if (request.toolChoice !== undefined) {
      config.toolConfig = { functionCallingConfig: functionCallingConfig(request.toolChoice) };
    }
  }
  if (request.maxTokens !== undefined) config.maxOutputTokens = request.maxTokens;
  if (request.temperature !== undefined) config.temperature = request.temperature;
  if (request.topP !== undefined) config.topP = request.topP;
  if (request.topK !== undefined) config.topK = request.topK;
  if (request.stop && request.stop.length > 0) config.stopSequences = request.stop;
  if (request.seed !== undefined) config.seed = request.seed;
  return { contents, config: { ...config, ...request.providerOptions?.gemini } };
}
