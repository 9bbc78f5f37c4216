import type { RecordedRequest, ScriptedAnswer } from './teacher-stand-in.js';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('');
  return '';
}

/**
 * A teacher's behaviour for the REPL tests: runs a command when asked to "run the check", asks the
 * user which database to use, reports tool results, proposes a numbered plan in plan mode (with
 * PresentPlan when asked to "present it"), and reports each plan step as done.
 */
export function scriptedTeacher(request: RecordedRequest): ScriptedAnswer {
  const last = request.messages.at(-1)!;
  const system = text(request.messages.find((message) => message.role === 'system')?.content);
  if (last.role === 'tool') return { text: `The tool said: ${text(last.content).trim()}` };
  const user = text(last.content);
  const step = /carry out step (\d+) only/.exec(user);
  if (step) return { text: `Done with step ${step[1]}.` };
  if (system.includes('You are in plan mode') && /present it/i.test(user)) {
    return {
      toolCalls: [
        { name: 'PresentPlan', arguments: { plan: '1. Write notes.txt with a greeting\n2. Show notes.txt' } },
      ],
    };
  }
  if (system.includes('You are in plan mode')) {
    return {
      text: 'I looked at the project. Here is the plan:\n\n1. Create notes.txt with a greeting\n2. Read notes.txt back to check it\n',
    };
  }
  if (/which database/i.test(user)) {
    return {
      toolCalls: [
        {
          name: 'AskUserQuestion',
          arguments: {
            question: 'Which database should the app use?',
            options: [
              { label: 'PostgreSQL', description: 'a server, for production' },
              { label: 'SQLite', description: 'a file, for a small app' },
              'MySQL',
            ],
          },
        },
      ],
    };
  }
  if (/run the check/i.test(user))
    return { toolCalls: [{ name: 'Bash', arguments: { command: 'echo shammah-tool-ok' } }] };
  if (/remove the notes/i.test(user))
    return { toolCalls: [{ name: 'Bash', arguments: { command: 'rm -f notes.txt' } }] };
  return { text: 'Teacher here.' };
}
