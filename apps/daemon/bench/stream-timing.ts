import type { ChatMessage, ChatModel } from '@shammah/provider';

/** The timings of one streamed answer. */
export interface StreamTiming {
  /** From sending the request to the first content delta. */
  timeToFirstTokenMs: number;
  /** From sending the request to the end of the stream. */
  totalMs: number;
  completionTokens: number;
  /** Milliseconds between consecutive content deltas. */
  gapsMs: number[];
}

/** What every measured request asks. */
export interface BenchRequest {
  messages: ChatMessage[];
  maxTokens: number;
}

function timing(start: number, deltaTimes: number[], completionTokens: number): StreamTiming {
  if (deltaTimes.length === 0)
    throw new Error('The stream carried no content; the benchmark measures nothing.');
  return {
    timeToFirstTokenMs: deltaTimes[0]! - start,
    totalMs: performance.now() - start,
    completionTokens,
    gapsMs: deltaTimes.slice(1).map((time, index) => time - deltaTimes[index]!),
  };
}

/** Streams one chat completion from the daemon with `fetch`, parsing the SSE body as it arrives. */
export async function streamOverHttp(
  url: string,
  request: BenchRequest,
  sessionId: string,
): Promise<StreamTiming> {
  const start = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-session-id': sessionId },
    body: JSON.stringify({
      model: 'shammah',
      messages: request.messages,
      max_tokens: request.maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!response.ok || !response.body) {
    throw new Error(`The daemon answered ${response.status}: ${await response.text()}`);
  }
  const deltaTimes: number[] = [];
  let completionTokens = 0;
  let buffered = '';
  const decoder = new TextDecoder();
  for await (const bytes of response.body) {
    const now = performance.now();
    buffered += decoder.decode(bytes, { stream: true });
    let end = buffered.indexOf('\n\n');
    while (end !== -1) {
      const event = buffered.slice(0, end);
      buffered = buffered.slice(end + 2);
      end = buffered.indexOf('\n\n');
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
        const chunk = JSON.parse(line.slice('data: '.length)) as {
          choices: Array<{ delta: { content?: string | null } }>;
          usage?: { completion_tokens: number } | null;
        };
        if (chunk.choices[0]?.delta.content) deltaTimes.push(now);
        if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      }
    }
  }
  return timing(start, deltaTimes, completionTokens);
}

/** Streams the same request directly from the model, with no HTTP, queue or router in between. */
export async function streamDirect(model: ChatModel, request: BenchRequest): Promise<StreamTiming> {
  const start = performance.now();
  const deltaTimes: number[] = [];
  let completionTokens = 0;
  for await (const part of model.stream({
    messages: request.messages,
    maxTokens: request.maxTokens,
    temperature: 0,
  })) {
    if (part.type === 'text-delta' && part.text) deltaTimes.push(performance.now());
    if (part.type === 'finish') completionTokens = part.usage.outputTokens;
  }
  return timing(start, deltaTimes, completionTokens);
}

/** The value at fraction `p` (0–1) of the sorted values, by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}

/** The middle value (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
