import type { RouteStreamPart, ToolCall } from '@shammah/provider';

/** The state of one step of an approved plan. */
export type PlanStepState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** One block of the conversation as the user sees it. */
export type TranscriptEntry =
  | { kind: 'user'; text: string }
  | {
      kind: 'assistant';
      text: string;
      route?: RouteStreamPart;
      streaming: boolean;
      /** Why the answer ended early (`cancelled`, an error), if it did. */
      ended?: string;
      /** One line of figures shown under the answer when it is done. */
      stats?: string;
    }
  | {
      kind: 'tool';
      call: ToolCall;
      output: string;
      permission?: string;
      result?: { summary: string; isError: boolean };
    }
  | { kind: 'notice'; text: string; tone: 'info' | 'warn' | 'error' | 'dim' }
  | { kind: 'plan'; title: string; steps: Array<{ text: string; state: PlanStepState }>; status: string };

/** What changed in the transcript. */
export interface TranscriptChange {
  type: 'added' | 'updated' | 'cleared';
  entry?: TranscriptEntry;
  /** For streamed text: the text appended by this update. */
  delta?: string;
}

/**
 * The conversation as shown: an ordered list of entries that the controller appends to and
 * updates while answers stream, and that views render (the TUI redraws, the plain view prints
 * what was appended).
 */
export class Transcript {
  readonly entries: TranscriptEntry[] = [];
  /** Bumped on every change, so views can tell when to redraw. */
  version = 0;
  readonly #listeners = new Set<(change: TranscriptChange) => void>();

  onChange(listener: (change: TranscriptChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  add<T extends TranscriptEntry>(entry: T): T {
    this.entries.push(entry);
    this.#emit({ type: 'added', entry });
    return entry;
  }

  /** Applies a change to an entry (mutate it in `change`), then tells the views. */
  update<T extends TranscriptEntry>(entry: T, change: (entry: T) => void, delta?: string): void {
    change(entry);
    this.#emit({ type: 'updated', entry, ...(delta !== undefined ? { delta } : {}) });
  }

  notice(text: string, tone: 'info' | 'warn' | 'error' | 'dim' = 'info'): void {
    this.add({ kind: 'notice', text, tone });
  }

  clear(): void {
    this.entries.length = 0;
    this.#emit({ type: 'cleared' });
  }

  #emit(change: TranscriptChange): void {
    this.version++;
    for (const listener of this.#listeners) listener(change);
  }
}
