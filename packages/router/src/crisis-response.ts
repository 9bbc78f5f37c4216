import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type ModelCapabilities,
} from '@shammah/provider';
import type { CrisisKind } from './crisis-detection.js';
import { estimateTokens } from './request-analysis.js';

/** Where to point someone in danger. Defaults are international with US specifics. */
export interface CrisisResources {
  /** How to reach emergency services. */
  emergency: string;
  /** Lines for someone thinking of suicide or self-harm. */
  crisisLines: readonly string[];
  /** Lines for someone facing violence or abuse. */
  violenceLines: readonly string[];
  /** Lines for poisoning and overdoses. */
  medicalLines: readonly string[];
}

/** The default {@link CrisisResources}. */
export const defaultCrisisResources: CrisisResources = {
  emergency:
    'call your local emergency number now (911 in the US and Canada, 112 in Europe, 999 in the UK, 000 in Australia)',
  crisisLines: [
    'In the US, call or text 988 (the Suicide & Crisis Lifeline), or chat at 988lifeline.org.',
    'In the UK and Ireland, call Samaritans on 116 123.',
    'Anywhere else, findahelpline.com lists free, confidential helplines in your country.',
  ],
  violenceLines: [
    'In the US, the National Domestic Violence Hotline is 1-800-799-7233 (or text START to 88788).',
    'Anywhere else, findahelpline.com lists free, confidential helplines in your country.',
  ],
  medicalLines: ['In the US, Poison Control is 1-800-222-1222.'],
};

/**
 * A calm, kind answer with crisis resources, for when no teacher can be reached. It is fixed text:
 * a small local model must never be the one to answer someone in danger.
 *
 * @example
 * ```ts
 * crisisMessage('self-harm'); // "I'm really sorry you're going through this. …"
 * ```
 */
export function crisisMessage(kind: CrisisKind, resources: CrisisResources = defaultCrisisResources): string {
  const lines: string[] = [];
  if (kind === 'medical') {
    lines.push(
      'This sounds like a medical emergency.',
      '',
      `Please ${resources.emergency}. Stay with the person if you can, and follow what the dispatcher tells you.`,
      ...resources.medicalLines,
    );
  } else if (kind === 'violence') {
    lines.push(
      "I'm really sorry this is happening. What you're describing sounds dangerous, and you deserve to be safe.",
      '',
      `If you or anyone else is in immediate danger, please ${resources.emergency}.`,
      ...resources.violenceLines,
    );
  } else {
    lines.push(
      "I'm really sorry you're going through this. You don't have to face it alone, and talking to someone can help right now.",
      '',
      `If you are in immediate danger, please ${resources.emergency}.`,
      ...resources.crisisLines,
      '',
      'If you can, reach out to someone you trust and let them know how you are feeling.',
    );
  }
  lines.push(
    '',
    "(I couldn't reach a cloud model just now, so I can't talk this through properly; the people at these numbers can, any time of day.)",
  );
  return lines.join('\n');
}

/** The system note a teacher receives with a request that shows signs of crisis. */
export const defaultCrisisGuidance =
  'The user may be in crisis or in danger. Respond with warmth and care, take what they say seriously, ' +
  'and do not lecture. Encourage them to contact emergency services if anyone is in immediate danger, and ' +
  'mention crisis resources such as 988 (call or text, in the US), Samaritans 116 123 (UK and Ireland), ' +
  'or findahelpline.com for other countries. Do not give information that could be used for self-harm.';

/**
 * A built-in "model" that answers with {@link crisisMessage}: the last resort for a request in
 * crisis when every teacher is unreachable.
 */
export class CrisisResponder implements ChatModel {
  readonly provider = 'shammah';
  readonly modelId = 'crisis-resources';
  readonly capabilities: ModelCapabilities = {
    tools: true,
    streaming: true,
    vision: true,
    contextLength: Number.MAX_SAFE_INTEGER,
    maxOutputTokens: 1024,
  };

  constructor(
    private readonly kind: CrisisKind,
    private readonly resources: CrisisResources = defaultCrisisResources,
  ) {}

  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const text = crisisMessage(this.kind, this.resources);
    yield { type: 'text-delta', text };
    yield {
      type: 'finish',
      finishReason: 'stop',
      usage: { inputTokens: estimateTokens(request), outputTokens: Math.ceil(text.length / 4) },
      modelId: this.modelId,
    };
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}
