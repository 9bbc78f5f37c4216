import { createInterface, type Interface } from 'node:readline';
import type { Choice, ReplOptions, ReplView } from './repl-controller.js';
import { ReplController } from './repl-controller.js';
import type { TranscriptChange, TranscriptEntry } from './transcript.js';

const PLAN_MARKS = { pending: '[ ]', running: '[>]', done: '[x]', failed: '[!]', skipped: '[-]' } as const;

function describeInput(input: unknown): string {
  const text = JSON.stringify(input) ?? '';
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/**
 * The REPL as plain lines (`--raw`, `--no-tui`, `tui_enabled = false`, or a terminal that is not
 * one): no escape sequences beyond what readline needs to edit the line, answers printed as they
 * stream, prompts asked as questions. Same commands and behaviour as the full-screen REPL.
 */
export function runPlainRepl(options: ReplOptions): Promise<number> {
  return new Promise<number>((resolveExit) => {
    const out = process.stdout;
    let rl: Interface;
    let history: string[] = [];
    let buffer: string[] = [];
    let asking: { choices: Choice<string>[]; resolve: (value: string) => void; fallback: string } | undefined;
    let finished = false;
    /** Where the output cursor is: whether the last thing written ended a line. */
    let atLineStart = true;
    const printed = new Map<TranscriptEntry, { text: number; tool: boolean; planStates: string[] }>();

    const write = (text: string) => {
      if (text === '') return;
      out.write(text);
      atLineStart = text.endsWith('\n');
    };
    const line = (text: string) => {
      if (!atLineStart) write('\n');
      write(`${text}\n`);
    };

    const view: ReplView = {
      choose(question, choices, signal, fallback) {
        return new Promise((resolve) => {
          if (signal.aborted) return resolve(fallback);
          line(question);
          for (const option of choices) line(`  ${option.key}) ${option.label}`);
          asking = {
            choices: choices as Choice<string>[],
            resolve: resolve as (value: string) => void,
            fallback,
          };
          signal.addEventListener('abort', () => {
            if (asking?.resolve === resolve) {
              asking = undefined;
              resolve(fallback);
            }
          });
          rl.setPrompt(`[${choices.map((option) => option.key).join('/')}] `);
          rl.prompt();
        });
      },
      setInput(text) {
        line('Edit the plan: type it again, one numbered step per line; end with an empty line.');
        for (const planLine of text.split('\n')) line(`  ${planLine}`);
        editingPlan = true;
      },
      setHistory(entries) {
        history = [...entries].reverse();
        if (rl)
          (rl as unknown as { history: string[] }).history = history.map((entry) =>
            entry.replace(/\n/g, ' '),
          );
      },
      refresh() {
        // A turn that ended (typed, queued or --initial-prompt): the prompt again.
        if (wasBusy && !controller.busy && !asking && !finished && !editingPlan) rl.prompt();
        wasBusy = controller.busy;
      },
      exit(code) {
        finish(code);
      },
      async suspend(run) {
        rl.pause();
        try {
          return await run();
        } finally {
          rl.resume();
        }
      },
    };
    let editingPlan = false;
    let wasBusy = false;
    /** The last line typed, so only messages that were not typed (--initial-prompt) are echoed. */
    let typed: string | undefined;
    const controller = new ReplController(view, options);

    controller.transcript.onChange((change: TranscriptChange) => show(change));

    function show(change: TranscriptChange): void {
      const entry = change.entry;
      if (change.type === 'cleared') {
        printed.clear();
        return;
      }
      if (!entry) return;
      const state = printed.get(entry) ?? { text: 0, tool: false, planStates: [] };
      printed.set(entry, state);
      switch (entry.kind) {
        case 'user':
          if (change.type === 'added' && entry.text !== typed) line(`> ${entry.text}`);
          return;
        case 'notice':
          line(entry.text);
          return;
        case 'assistant':
          if (change.type === 'added') {
            if (entry.route) line(`[${entry.route.route} · ${entry.route.model} · ${entry.route.reason}]`);
          }
          write(entry.text.slice(state.text));
          state.text = entry.text.length;
          if (!entry.streaming && (entry.stats || entry.ended)) {
            if (entry.ended) line(`[${entry.ended}]`);
            if (entry.stats) line(`(${entry.stats})`);
            else if (!atLineStart) write('\n');
          }
          return;
        case 'tool':
          if (!state.tool) {
            line(`* ${entry.call.name} ${describeInput(entry.call.input)}`);
            state.tool = true;
          }
          if (entry.result) line(`  -> ${entry.result.isError ? 'error: ' : ''}${entry.result.summary}`);
          return;
        case 'plan':
          entry.steps.forEach((step, index) => {
            if (state.planStates[index] !== step.state) {
              state.planStates[index] = step.state;
              line(`  ${PLAN_MARKS[step.state]} ${index + 1}. ${step.text}`);
            }
          });
          if (change.type === 'added') line(`(${entry.title}: ${entry.status})`);
          return;
      }
    }

    function finish(code: number): void {
      if (finished) return;
      finished = true;
      rl.close();
      void controller.close().finally(() => resolveExit(code));
    }

    rl = createInterface({
      input: process.stdin,
      output: out,
      terminal: Boolean(process.stdin.isTTY && out.isTTY),
      historySize: 1000,
      completer: (text: string) => [controller.complete(text).candidates, text],
    });
    rl.setPrompt('> ');
    rl.on('line', (input) => {
      atLineStart = true;
      if (asking) {
        const pending = asking;
        const option = pending.choices.find((candidate) => candidate.key === input.trim().toLowerCase());
        if (!option) {
          rl.prompt();
          return;
        }
        asking = undefined;
        rl.setPrompt('> ');
        pending.resolve(option.value);
        return;
      }
      if (editingPlan || input.endsWith('\\')) {
        buffer.push(input.endsWith('\\') ? input.slice(0, -1) : input);
        if (editingPlan && input.trim() !== '') return;
        if (!editingPlan) {
          rl.setPrompt('. ');
          rl.prompt();
          return;
        }
      } else buffer.push(input);
      editingPlan = false;
      const text = buffer.join('\n');
      buffer = [];
      rl.setPrompt('> ');
      if (!text.trim()) {
        rl.prompt();
        return;
      }
      typed = text;
      void controller.submit(text).then(() => {
        if (!finished && !controller.busy && !asking) rl.prompt();
      });
    });
    rl.on('SIGINT', () => {
      if (asking) {
        const pending = asking;
        asking = undefined;
        rl.setPrompt('> ');
        pending.resolve(pending.fallback);
      }
      const outcome = controller.interrupt();
      if (outcome === 'armed' || outcome === 'cleared') {
        rl.write(null, { ctrl: true, name: 'u' });
        rl.prompt();
      }
    });
    rl.on('close', () => {
      if (finished) return;
      finished = true;
      void controller.close().finally(() => resolveExit(0));
    });
    controller.inputIsEmpty = () => rl.line === '';
    controller.clearInput = () => rl.write(null, { ctrl: true, name: 'u' });
    void controller.start().then(() => {
      if (!finished && !controller.busy) rl.prompt();
    });
  });
}
