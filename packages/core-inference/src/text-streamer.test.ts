import { describe, expect, it } from 'vitest';
import { TextStreamer } from './text-streamer.js';

// A byte-level "tokenizer": each token is one UTF-8 byte, so multi-byte characters span tokens,
// as they do with the byte-level BPE vocabularies of Qwen, Llama 3 and SmolLM2.
const decoder = new TextDecoder();
const decode = (ids: readonly number[]) => decoder.decode(Uint8Array.from(ids));
const bytes = (text: string) => [...new TextEncoder().encode(text)];

function streamAll(text: string, stops: string[] = []): { deltas: string[]; streamer: TextStreamer } {
  const streamer = new TextStreamer(decode, stops);
  const deltas: string[] = [];
  for (const id of bytes(text)) {
    const delta = streamer.push(id);
    if (delta) deltas.push(delta);
    if (streamer.stoppedBy) break;
  }
  const rest = streamer.flush();
  if (rest) deltas.push(rest);
  return { deltas, streamer };
}

describe('TextStreamer', () => {
  it('never releases half a multi-byte character', () => {
    const text = 'héllo 世界 🎉 done';
    const { deltas } = streamAll(text);
    expect(deltas.join('')).toBe(text);
    for (const delta of deltas) expect(delta).not.toContain('\uFFFD');
  });

  it('cuts the text before a stop string and never shows any of it', () => {
    const { deltas, streamer } = streamAll('The answer is 42.\nUser: next question', ['\nUser:']);
    expect(deltas.join('')).toBe('The answer is 42.');
    expect(streamer.stoppedBy).toBe('\nUser:');
    expect(deltas.some((delta) => delta.includes('\n'))).toBe(false);
  });

  it('releases held-back text that turned out not to be a stop string', () => {
    const { deltas, streamer } = streamAll('a <b> c', ['<bad>']);
    expect(deltas.join('')).toBe('a <b> c');
    expect(streamer.stoppedBy).toBeUndefined();
  });
});
