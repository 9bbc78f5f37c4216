import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { type RecordedRequest, STAND_IN_MODEL, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

function text(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (part as { text?: string }).text ?? '').join('');
  return '';
}

const isSummaryRequest = (request: RecordedRequest) =>
  text(request.messages[0]?.content).startsWith('You compress a conversation');

describe('long conversations', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    // Long answers (about 600 tokens each), and a summary when asked for one.
    teacher = await TeacherStandIn.start((request) => {
      if (isSummaryRequest(request))
        return { text: 'The user asked questions one and two about the parser.' };
      const question = text(request.messages.at(-1)?.content);
      const number = /Question (\w+)/.exec(question)?.[1] ?? '?';
      return {
        text: `Answer ${number}: ${'lorem-ipsum-dolor-sit-amet-consectetur-adipiscing '.repeat(48)}End of answer ${number}.`,
      };
    });
    // A teacher with a 2,000-token context, as a small local server would declare it.
    home = await makeHome(
      [
        '[backend]',
        'enabled = false',
        '',
        '[client]',
        'use_daemon = false',
        '',
        '[[teachers]]',
        'provider = "openai-compatible"',
        'name = "Small"',
        `base_url = "${teacher.baseUrl}"`,
        `model = "${STAND_IN_MODEL}"`,
        'api_key = "sk-test-valid"',
        'context_length = 2000',
        'max_output_tokens = 200',
        '',
      ].join('\n'),
    );
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
  });

  it('summarises earlier turns when the conversation outgrows the context, says so, and carries on', async () => {
    terminal = await TmuxTerminal.start({
      command: shammahCommand('--raw', '--no-tools'),
      env: home.env,
      cwd: home.home,
    });
    const term = terminal;
    await term.waitFor('>', 30_000);
    for (const number of ['one', 'two', 'three', 'four']) {
      await term.type(`Question ${number} about the parser?`);
      await term.press('Enter');
      await term.waitFor(`End of answer ${number}.`, 30_000);
    }
    const screen = await term.waitFor('Earlier turns were summarised to fit the context');
    expect(screen).toMatch(
      /Earlier turns were summarised to fit the context: \d+ older messages became a summary/,
    );

    const summaries = teacher.requests.filter(isSummaryRequest);
    expect(summaries).toHaveLength(1);
    expect(text(summaries[0]!.messages.at(-1)?.content)).toContain('User: Question one about the parser?');

    // The fourth question went out with the summary in place of the oldest turns.
    const last = teacher.requests.filter((request) => !isSummaryRequest(request)).at(-1)!;
    const sent = last.messages.map((message) => text(message.content));
    expect(sent[0]).toContain('You are Shammah');
    expect(
      sent.some((content) => content.includes('The user asked questions one and two about the parser.')),
    ).toBe(true);
    expect(sent.some((content) => content.startsWith('Question one'))).toBe(false);
    expect(sent.some((content) => content.includes('End of answer three.'))).toBe(true);
    expect(sent.at(-1)).toBe('Question four about the parser?');
  });
});
