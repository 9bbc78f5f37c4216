import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTeacher } from './support/scripted-teacher.js';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

describe('plan mode', () => {
  let teacher: TeacherStandIn;
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    teacher = await TeacherStandIn.start(scriptedTeacher);
    home = await makeHome(standInConfig(teacher.baseUrl));
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
  });

  const start = async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env, cwd: home.home });
    await terminal.waitFor('Ask anything', 30_000);
    return terminal;
  };

  it('researches read-only, proposes a numbered plan, and runs it step by step once approved', async () => {
    const term = await start();
    await term.press('BTab');
    await term.waitFor('PLAN MODE');
    const requestsBefore = teacher.requests.length;
    await term.type('Add a notes file to the project.');
    await term.press('Enter');
    const proposed = await term.waitFor('Run this plan?');
    expect(proposed).toMatch(/☰ Proposed plan \(waiting for your approval\)/);
    expect(proposed).toMatch(/○ 1\. Create notes\.txt with a greeting/);
    expect(proposed).toMatch(/○ 2\. Read notes\.txt back to check it/);
    expect(proposed).toMatch(/a {2}Approve and run it/);

    // Planning offered only the read-only tools.
    const planning = teacher.requests[requestsBefore]!;
    expect(planning.tools?.map((tool) => tool.function.name).sort()).toEqual([
      'AskUserQuestion',
      'Glob',
      'Grep',
      'PresentPlan',
      'Read',
      'WebFetch',
    ]);

    await term.press('a');
    const done = await term.waitFor('done: all 2 steps');
    expect(done).toMatch(/☰ Plan \(done: all 2 steps\)/);
    expect(done).toMatch(/● 1\. Create notes\.txt/);
    expect(done).toMatch(/● 2\. Read notes\.txt/);
    expect(done).toContain('Done with step 1.');
    expect(done).toContain('Done with step 2.');
    expect(done).not.toContain('PLAN MODE');
    // Each step was its own request, with every tool.
    const steps = teacher.requests.slice(requestsBefore + 1);
    expect(steps).toHaveLength(2);
    expect(steps[0]!.tools?.map((tool) => tool.function.name)).toContain('Bash');
    // PresentPlan belongs to plan mode only.
    expect(steps[0]!.tools?.map((tool) => tool.function.name)).not.toContain('PresentPlan');
  });

  it('shows a plan the model presents with PresentPlan, and an edited plan runs as edited', async () => {
    const term = await start();
    const requestsBefore = teacher.requests.length;
    await term.type('/plan Add a notes file, and present it.');
    await term.press('Enter');
    const proposed = await term.waitFor('Run this plan?');
    expect(proposed).toContain('⚙ PresentPlan');
    expect(proposed).toMatch(/○ 1\. Write notes\.txt with a greeting/);
    expect(proposed).toMatch(/○ 2\. Show notes\.txt/);
    await term.press('e');
    await term.waitFor('Edit the plan in the input');
    await term.press('C-u');
    await term.type('2. Print a goodbye');
    await term.press('Enter');
    const done = await term.waitFor('done: all 2 steps');
    expect(done).toMatch(/● 2\. Print a goodbye/);
    expect(done).not.toContain('PLAN MODE');
    // The model was told what the user approved; then each step ran as its own turn.
    const after = teacher.requests.slice(requestsBefore + 1);
    expect(after).toHaveLength(2);
    const told = after[0]!.messages.find((message) => message.role === 'tool');
    expect(String(told?.content)).toContain(
      'The user edited the plan and approved this version:\n1. Write notes.txt with a greeting\n2. Print a goodbye',
    );
    expect(String(after[1]!.messages.at(-1)?.content)).toContain('carry out step 2 only: Print a goodbye');
  });

  it('sends the reason for rejecting a presented plan to the model, and stays in plan mode', async () => {
    const term = await start();
    await term.type('/plan Add a notes file, and present it.');
    await term.press('Enter');
    await term.waitFor('Run this plan?');
    await term.press('r');
    await term.waitFor('Say what to change and press Enter');
    await term.type('Use README.md instead of notes.txt.');
    await term.press('Enter');
    const screen = await term.waitFor('The tool said: The user rejected the plan.');
    expect(screen).toMatch(/☰ Proposed plan \(rejected\)/);
    expect(screen).toContain('PLAN MODE');
    const told = teacher.requests.at(-1)!.messages.find((message) => message.role === 'tool');
    expect(String(told?.content)).toContain('Their feedback: Use README.md instead of notes.txt.');
  });

  it('lets the user edit a proposed plan, then reject it and stay in plan mode', async () => {
    const term = await start();
    await term.type('/plan Add a notes file to the project.');
    await term.press('Enter');
    await term.waitFor('Run this plan?');
    await term.press('e');
    const editing = await term.waitFor('Edit the plan in the input');
    expect(editing).toMatch(/│◆ 1\. Create notes\.txt with a greeting/);
    expect(editing).toMatch(/│ {2}2\. Read notes\.txt back to check it/);
    // Replace the second step.
    await term.press('C-u');
    await term.type('2. Print a goodbye');
    await term.press('Enter');
    const edited = await term.waitFor(/○ 2\. Print a goodbye[\s\S]*Run this plan\?/);
    expect(edited).toMatch(/○ 1\. Create notes\.txt with a greeting/);
    await term.press('r');
    const rejected = await term.waitFor('Plan rejected');
    expect(rejected).toContain('PLAN MODE');
    expect(rejected).toMatch(/☰ Proposed plan \(rejected\)/);
  });
});
