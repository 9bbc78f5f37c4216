// AskUserQuestion, PresentPlan, UpdatePlan, plan mode and the PlanTracker, through the real tool loop
// with scripted models and real files.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type ChatMessage, contentText } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { formatUserAnswer, readUserQuestion, type UserQuestion } from './ask-user-question-tool.js';
import { createCodingTools } from './coding-tools.js';
import { createPermissionPolicy } from './permission-policy.js';
import {
  addPlanModePrompt,
  createConversationTools,
  isUserInteractionCall,
  PLAN_MODE_PROMPT,
  planModeTools,
  removePlanModePrompt,
} from './plan-mode.js';
import { formatPlanSteps, parsePlanSteps } from './plan-text.js';
import { PlanTracker } from './plan-tracker.js';
import {
  formatPlanReview,
  type PlanReview,
  type PresentedPlan,
  readPresentedPlan,
} from './present-plan-tool.js';
import { ScriptedModel } from './test-support/scripted-model.js';
import { tempDirectory, writeFiles } from './test-support/temp-project.js';
import { runToolLoop, type ToolLoopEvent, type ToolLoopOptions } from './tool-loop.js';

async function collect(options: ToolLoopOptions, tracker?: PlanTracker): Promise<ToolLoopEvent[]> {
  const events: ToolLoopEvent[] = [];
  for await (const event of runToolLoop(options)) {
    tracker?.observe(event);
    events.push(event);
  }
  return events;
}

function outcomes(events: ToolLoopEvent[]) {
  return events.flatMap((event) => (event.type === 'tool-result' ? [event.outcome] : []));
}

function lastToolText(messages: readonly ChatMessage[]): string {
  const tool = [...messages].reverse().find((message) => message.role === 'tool');
  return tool?.role === 'tool' ? tool.content.map((part) => contentText(part.content)).join('\n') : '';
}

describe('AskUserQuestion', () => {
  it('asks the host with the choices, reads a numbered answer, and needs no permission prompt', async () => {
    const cwd = await tempDirectory();
    const questions: UserQuestion[] = [];
    let permissionPrompts = 0;
    const model = new ScriptedModel([
      {
        toolCalls: [
          {
            id: 'q1',
            name: 'ask_user_question',
            input: {
              question: 'Which database?',
              choices: ['SQLite', { label: 'PostgreSQL', description: 'needs a server' }],
            },
          },
        ],
      },
      { text: 'PostgreSQL it is.' },
    ]);
    const events = await collect({
      model,
      tools: createConversationTools({
        ask: async (question) => {
          questions.push(question);
          return '2';
        },
      }),
      permissions: createPermissionPolicy({
        projectRoot: cwd,
        ask: async () => {
          permissionPrompts++;
          return 'deny';
        },
      }),
      cwd,
      messages: [{ role: 'user', content: 'Set up storage.' }],
    });
    expect(questions).toEqual([
      {
        question: 'Which database?',
        options: [{ label: 'SQLite' }, { label: 'PostgreSQL', description: 'needs a server' }],
        multiSelect: false,
      },
    ]);
    expect(permissionPrompts).toBe(0);
    expect(outcomes(events)[0]).toMatchObject({
      toolName: 'AskUserQuestion',
      text: 'The user chose: "PostgreSQL".',
    });
    expect(lastToolText(model.requests[1]!.messages)).toBe('The user chose: "PostgreSQL".');
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'answered' });
  });

  it('reads free text, several numbers for a multi-select, and no answer', async () => {
    const cwd = await tempDirectory();
    const answers = ['Use MySQL instead', '1, 3', ''];
    const model = new ScriptedModel([
      {
        toolCalls: [{ id: 'a', name: 'AskUserQuestion', input: { question: 'Which?', options: ['A', 'B'] } }],
      },
      {
        toolCalls: [
          {
            id: 'b',
            name: 'AskUserQuestion',
            input: { question: 'Which ones?', options: ['A', 'B', 'C'], multiSelect: true },
          },
        ],
      },
      { toolCalls: [{ id: 'c', name: 'AskUserQuestion', input: { question: 'Anything else?' } }] },
      { text: 'ok' },
    ]);
    const events = await collect({
      model,
      tools: createConversationTools({ ask: async () => answers.shift()! }),
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
    });
    expect(outcomes(events).map((outcome) => outcome.text)).toEqual([
      'The user answered: Use MySQL instead',
      'The user chose: "A", "C".',
      expect.stringContaining('The user did not answer.'),
    ]);
  });

  it('tells the model when no one can be asked', async () => {
    const cwd = await tempDirectory();
    const events = await collect({
      model: new ScriptedModel([
        { toolCalls: [{ id: 'a', name: 'AskUserQuestion', input: { question: 'Which?' } }] },
        { text: 'I will assume A.' },
      ]),
      tools: createConversationTools(),
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
    });
    expect(outcomes(events)[0]).toMatchObject({ isError: true, errorCode: 'user_unavailable' });
  });

  it('works through the loop’s pass-through: the call goes to the remote client and the loop resumes with the answer', async () => {
    const cwd = await tempDirectory();
    await writeFiles(cwd, { 'README.md': 'A project about storage.\n' });
    const model = new ScriptedModel([
      {
        toolCalls: [
          { id: 'r', name: 'Read', input: { file_path: 'README.md' } },
          {
            id: 'q',
            name: 'AskUserQuestion',
            input: { question: 'Which database?', options: ['SQLite', 'PostgreSQL'] },
          },
        ],
      },
      { text: 'Going with SQLite.' },
    ]);
    const tools = [...createCodingTools(), ...createConversationTools()];
    const first = await collect({
      model,
      tools,
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: [{ role: 'user', content: 'Add storage.' }],
      executeRemotely: isUserInteractionCall,
    });
    const paused = first.at(-1);
    if (paused?.type !== 'done' || !paused.state) throw new Error('expected a pending state');
    expect(paused.reason).toBe('tool-calls-pending');
    expect(outcomes(first).map((outcome) => outcome.toolName)).toEqual(['Read']);
    const pending = paused.state.pendingToolCalls[0]!;
    // The daemon reads the question for its client, and answers with the same words the tool would.
    const question = readUserQuestion(pending.input);
    expect(question.options.map((option) => option.label)).toEqual(['SQLite', 'PostgreSQL']);
    const state = JSON.parse(JSON.stringify(paused.state));
    const resumed = await collect({
      model,
      tools,
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      resume: {
        state,
        results: [
          { toolCallId: pending.id, content: formatUserAnswer({ kind: 'selected', labels: ['SQLite'] }) },
        ],
      },
    });
    expect(resumed.at(-1)).toMatchObject({ type: 'done', reason: 'answered', text: 'Going with SQLite.' });
    expect(lastToolText(model.requests[1]!.messages)).toContain('The user chose: "SQLite".');
    expect(lastToolText(model.requests[1]!.messages)).toContain('A project about storage.');
  });
});

describe('plan mode, PresentPlan and the PlanTracker', () => {
  it('plans with read-only tools, ends the loop on approval, then carries the plan out with every tool', async () => {
    const cwd = await tempDirectory();
    await writeFiles(cwd, { 'src/app.ts': 'export const port = 3000;\n' });
    const tracker = new PlanTracker();
    const changes: string[] = [];
    tracker.subscribe(() => changes.push(tracker.format()));
    const reviewed: PresentedPlan[] = [];
    const all = [
      ...createCodingTools(),
      ...createConversationTools({
        review: async (plan) => {
          reviewed.push(plan);
          return { decision: 'approve' };
        },
        tracker,
      }),
    ];
    const planModel = new ScriptedModel([
      { toolCalls: [{ id: 'w', name: 'Write', input: { file_path: 'src/app.ts', content: 'oops' } }] },
      { toolCalls: [{ id: 'r', name: 'Read', input: { file_path: 'src/app.ts' } }] },
      {
        toolCalls: [
          {
            id: 'p',
            name: 'PresentPlan',
            input: { plan: 'Here is the plan:\n1. Change the port to 8080 in src/app.ts\n2. Check the file' },
          },
        ],
      },
      { text: 'never reached' },
    ]);
    const permissions = createPermissionPolicy({
      projectRoot: cwd,
      userRules: [{ tool: 'Write', action: 'allow' }],
    });
    const planning = await collect(
      {
        model: planModel,
        tools: planModeTools(all),
        permissions,
        cwd,
        messages: addPlanModePrompt([
          { role: 'system', content: 'You are Shammah.' },
          { role: 'user', content: 'Make the app listen on 8080.' },
        ]),
      },
      tracker,
    );
    expect(planModel.requests[0]!.tools?.map((tool) => tool.name)).toEqual([
      'Read',
      'Glob',
      'Grep',
      'WebFetch',
      'AskUserQuestion',
      'PresentPlan',
    ]);
    expect(planModel.requests[0]!.messages[0]).toEqual({
      role: 'system',
      content: `You are Shammah.\n\n${PLAN_MODE_PROMPT}`,
    });
    // Write is not offered in plan mode: the call fails and nothing changes.
    expect(outcomes(planning)[0]).toMatchObject({ errorCode: 'tool_unknown' });
    expect(await readFile(path.join(cwd, 'src/app.ts'), 'utf8')).toBe('export const port = 3000;\n');
    const done = planning.at(-1);
    if (done?.type !== 'done') throw new Error('no done event');
    expect(done.reason).toBe('plan-approved');
    expect(reviewed[0]!.steps).toEqual(['Change the port to 8080 in src/app.ts', 'Check the file']);
    expect(tracker.format()).toBe('[ ] 1. Change the port to 8080 in src/app.ts\n[ ] 2. Check the file');

    const executeModel = new ScriptedModel([
      {
        toolCalls: [{ id: 'u1', name: 'UpdatePlan', input: { steps: [{ step: 1, status: 'in_progress' }] } }],
      },
      {
        toolCalls: [
          {
            id: 'e',
            name: 'Write',
            input: { file_path: 'src/app.ts', content: 'export const port = 8080;\n' },
          },
        ],
      },
      {
        toolCalls: [
          {
            id: 'u2',
            name: 'TodoWrite',
            input: {
              todos: [
                { content: 'Change the port to 8080 in src/app.ts', status: 'completed' },
                { content: 'Check the file', status: 'blocked', note: 'no tests here' },
              ],
            },
          },
        ],
      },
      { text: 'The app now listens on 8080.' },
    ]);
    const executing = await collect(
      { model: executeModel, tools: all, permissions, cwd, messages: removePlanModePrompt(done.messages) },
      tracker,
    );
    expect(executeModel.requests[0]!.messages[0]).toEqual({ role: 'system', content: 'You are Shammah.' });
    expect(executeModel.requests[0]!.tools?.map((tool) => tool.name)).toContain('Write');
    expect(lastToolText(executeModel.requests[0]!.messages)).toContain('The user approved the plan.');
    expect(executing.at(-1)).toMatchObject({ type: 'done', reason: 'answered' });
    expect(await readFile(path.join(cwd, 'src/app.ts'), 'utf8')).toBe('export const port = 8080;\n');
    expect(tracker.format()).toBe(
      '[x] 1. Change the port to 8080 in src/app.ts\n[!] 2. Check the file (no tests here)',
    );
    expect(tracker.progress).toEqual({ done: 1, failed: 1, total: 2 });
    expect(tracker.finished).toBe(true);
    expect(changes).toEqual([
      '[ ] 1. Change the port to 8080 in src/app.ts\n[ ] 2. Check the file',
      '[~] 1. Change the port to 8080 in src/app.ts\n[ ] 2. Check the file',
      '[x] 1. Change the port to 8080 in src/app.ts\n[!] 2. Check the file (no tests here)',
    ]);
  });

  it('goes back to the model on rejection, and approves an edited plan with the user’s steps', async () => {
    const cwd = await tempDirectory();
    const reviews: PlanReview[] = [
      { decision: 'reject', feedback: 'Also update the docs.' },
      { decision: 'edit', plan: '1. Change the port\n2. Update docs/ports.md\n3. Run the tests' },
    ];
    const tracker = new PlanTracker();
    const model = new ScriptedModel([
      { toolCalls: [{ id: 'p1', name: 'PresentPlan', input: { plan: '1. Change the port' } }] },
      (request) => {
        expect(lastToolText(request.messages)).toContain('Their feedback: Also update the docs.');
        return {
          toolCalls: [
            { id: 'p2', name: 'ExitPlanMode', input: { steps: ['Change the port', 'Update docs'] } },
          ],
        };
      },
    ]);
    const events = await collect(
      {
        model,
        tools: planModeTools(createConversationTools({ review: async () => reviews.shift()!, tracker })),
        permissions: createPermissionPolicy({ projectRoot: cwd }),
        cwd,
      },
      tracker,
    );
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'plan-approved', turns: 2 });
    expect(outcomes(events)[1]!.data).toMatchObject({
      decision: 'edit',
      steps: ['Change the port', 'Update docs/ports.md', 'Run the tests'],
    });
    expect(tracker.steps.map((step) => step.text)).toEqual([
      'Change the port',
      'Update docs/ports.md',
      'Run the tests',
    ]);
    if (done?.type === 'done') expect(lastToolText(done.messages)).toContain('2. Update docs/ports.md');
  });

  it('refuses a plan without steps, and one no one can approve', async () => {
    const cwd = await tempDirectory();
    const events = await collect({
      model: new ScriptedModel([
        { toolCalls: [{ id: 'a', name: 'PresentPlan', input: { plan: 'I will fix it.' } }] },
        { toolCalls: [{ id: 'b', name: 'PresentPlan', input: { plan: '1. Fix it' } }] },
        { text: 'ok' },
      ]),
      tools: createConversationTools(),
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
    });
    expect(outcomes(events).map((outcome) => outcome.errorCode)).toEqual([
      'plan_without_steps',
      'user_unavailable',
    ]);
    expect(events.at(-1)).toMatchObject({ reason: 'answered' });
  });

  it('pass-through hosts read the plan and answer with the same words the tool would', () => {
    const plan = readPresentedPlan({ plan: ['Read the code', 'Fix the bug'] });
    expect(plan).toEqual({
      text: '1. Read the code\n2. Fix the bug',
      steps: ['Read the code', 'Fix the bug'],
    });
    expect(formatPlanReview(plan, { decision: 'approve' }).text).toContain('The user approved the plan.');
    expect(isUserInteractionCall({ name: 'present_plan' })).toBe(true);
    expect(isUserInteractionCall({ name: 'ExitPlanMode' })).toBe(true);
    expect(isUserInteractionCall({ name: 'Read' })).toBe(false);
    expect(removePlanModePrompt(addPlanModePrompt([{ role: 'user', content: 'hi' }]))).toEqual([
      { role: 'user', content: 'hi' },
    ]);
  });

  it('starts the next pending step when work begins, and takes UpdatePlan by numbers or names', async () => {
    const tracker = new PlanTracker(['Read', 'Write']);
    const call = { id: 'x', name: 'Read', input: {} };
    expect(tracker.observe({ type: 'tool-call', turn: 1, call })).toBe(true);
    expect(tracker.steps[0]!.status).toBe('in_progress');
    expect(tracker.observe({ type: 'tool-call', turn: 1, call })).toBe(false);
    expect(tracker.observe({ type: 'tool-call', turn: 1, call: { ...call, name: 'UpdatePlan' } })).toBe(
      false,
    );
    const cwd = await tempDirectory();
    const events = await collect(
      {
        model: new ScriptedModel([
          { toolCalls: [{ id: 'a', name: 'UpdatePlan', input: { steps: [{ step: 3, status: 'done' }] } }] },
          {
            toolCalls: [
              {
                id: 'b',
                name: 'update_plan',
                input: {
                  plan: [
                    { step: 1, status: 'finished' },
                    { step: 2, status: 'doing' },
                  ],
                },
              },
            ],
          },
          { text: 'ok' },
        ]),
        tools: createConversationTools({ tracker }),
        permissions: createPermissionPolicy({ projectRoot: cwd }),
        cwd,
      },
      tracker,
    );
    const [unknown, updated] = outcomes(events);
    expect(unknown).toMatchObject({ errorCode: 'plan_step_unknown' });
    expect(unknown!.text).toContain('there is no step 3');
    expect(updated!.text).toContain('Go on with: Write');
    expect(tracker.format()).toBe('[x] 1. Read\n[~] 2. Write');
  });
});

describe('parsePlanSteps', () => {
  it('reads numbered lists, continuation lines and bullets, and skips code', () => {
    expect(
      parsePlanSteps(
        [
          'I will:',
          '1. **Read** the config',
          '2) Add the flag',
          '   and its test',
          '```',
          '3. not a step',
          '```',
          'Step 3: Run the tests',
        ].join('\n'),
      ),
    ).toEqual(['Read the config', 'Add the flag and its test', 'Run the tests']);
    expect(parsePlanSteps('- first\n- [ ] second')).toEqual(['first', 'second']);
    expect(parsePlanSteps('No list here.')).toEqual([]);
    expect(formatPlanSteps(['a', 'b'])).toBe('1. a\n2. b');
  });
});
