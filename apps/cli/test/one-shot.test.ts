import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptedTeacher } from './support/scripted-teacher.js';
import { makeHome, runShammah, TEST_MODEL, type TestHome } from './support/shammah-home.js';
import { STAND_IN_MODEL, standInConfig, TeacherStandIn } from './support/teacher-stand-in.js';

describe('one-shot answers for scripts', () => {
  let home: TestHome;
  let teacherHome: TestHome;
  let teacher: TeacherStandIn;

  beforeAll(async () => {
    home = await makeHome();
    teacher = await TeacherStandIn.start(scriptedTeacher);
    teacherHome = await makeHome(standInConfig(teacher.baseUrl));
  });
  afterAll(async () => {
    await teacher.close();
    await home.remove();
    await teacherHome.remove();
  });

  it('answers a question given as an argument as plain text, without escape sequences', async () => {
    const result = await runShammah(['What is the capital of France?'], { env: home.env });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Paris/);
    expect(result.stdout).not.toMatch(/\x1b/);
    expect(result.stdout.endsWith('\n')).toBe(true);
  });

  it('reads the question from a pipe with -p and prints one JSON object with --json', async () => {
    const result = await runShammah(['-p', '--json', '--local'], { env: home.env, input: 'What is 2+2?\n' });
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const answer = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(answer).toMatchObject({
      route: 'local',
      model: TEST_MODEL,
      reason: 'forced-local',
      finishReason: 'stop',
      toolCalls: [],
    });
    expect(answer.answer).toMatch(/4/);
    expect((answer.usage as { outputTokens: number }).outputTokens).toBeGreaterThan(0);
    expect((answer.timings as { decodeTokensPerSecond: number }).decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('keeps the quick start working: --local --model <repo> "question"', async () => {
    const result = await runShammah(
      ['--local', '--model', TEST_MODEL, '--variant', 'fp32', 'What is the capital of France?'],
      {
        env: { SHAMMAH_HOME: `${home.home}/quick-start` },
      },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Paris/);
  });

  it('routes to a teacher with --teacher, with the cost in the JSON (query is the original alias)', async () => {
    const result = await runShammah(['query', '--teacher', '--json', 'Say hello.'], { env: teacherHome.env });
    expect(result.code).toBe(0);
    const answer = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(answer).toMatchObject({ answer: 'Teacher here.', route: 'teacher', model: STAND_IN_MODEL });
    expect(answer.costUsd).toBeGreaterThan(0);
    expect(teacher.requests.at(-1)!.messages.at(-1)).toMatchObject({ role: 'user', content: 'Say hello.' });
  });

  it('answers piped input with no arguments at all, as the original did', async () => {
    const result = await runShammah(['--teacher'], { env: teacherHome.env, input: 'Say hello.\n' });
    expect(result).toEqual({ code: 0, stdout: 'Teacher here.\n', stderr: '' });
  });

  it('runs no tool that would need asking, and says so in the output', async () => {
    const result = await runShammah(['--teacher', 'Please run the check.'], { env: teacherHome.env });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/\[Bash: failed\]/);
    expect(result.stdout).toMatch(/The tool said: .*(denied|ask)/i);
  });

  it('explains a bad flag with exit code 2', async () => {
    const result = await runShammah(['--max-tokens', 'lots', 'hi'], { env: home.env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('shammah: --max-tokens must be a positive whole number, not "lots".\n');
  });

  it('leaves out a teacher that cannot be set up, says why, and answers with the others', async () => {
    const mixed = await makeHome(
      `[backend]\nenabled = false\n\n[client]\nuse_daemon = false\n\n[[teachers]]\nprovider = "claude"\n\n[[teachers]]\nprovider = "openai-compatible"\nname = "StandIn"\nbase_url = "${teacher.baseUrl}"\nmodel = "${STAND_IN_MODEL}"\napi_key = "sk-test-valid"\n`,
    );
    try {
      const result = await runShammah(['--json', 'Say hello.'], {
        env: { ...mixed.env, ANTHROPIC_API_KEY: '' },
      });
      expect(result.code).toBe(0);
      expect(result.stderr).toMatch(
        /^shammah: The teacher claude is left out: No API key for the anthropic teacher\. Set ANTHROPIC_API_KEY/,
      );
      expect(JSON.parse(result.stdout)).toMatchObject({ answer: 'Teacher here.', route: 'teacher' });
    } finally {
      await mixed.remove();
    }
  });
});
