import { describe, expect, it } from 'vitest';
import { createCodingTools } from './coding-tools.js';
import { createPermissionPolicy, type PermissionPrompt } from './permission-policy.js';
import { createRestartTool } from './restart-tool.js';
import { runToolCall } from './run-tool-call.js';
import { contextFor, tempDirectory } from './test-support/temp-project.js';
import { ToolSet } from './tool-set.js';

describe('Restart', () => {
  it('asks the host to restart through its callback', async () => {
    const requests: string[] = [];
    const result = await createRestartTool().execute(
      { reason: 'the daemon was rebuilt' },
      contextFor('/', { requestRestart: ({ reason }) => void requests.push(reason) }),
    );
    expect(requests).toEqual(['the daemon was rebuilt']);
    expect(result.text).toMatch(/^Restart requested/);
  });

  it('says so when the host cannot restart', async () => {
    await expect(createRestartTool().execute({ reason: 'x' }, contextFor('/'))).rejects.toMatchObject({
      code: 'restart_unavailable',
    });
  });

  it('restarts only after the user confirms, every time', async () => {
    const root = await tempDirectory();
    const answers = ['deny', 'allow-always', 'allow-once'] as const;
    const prompts: PermissionPrompt[] = [];
    const permissions = createPermissionPolicy({
      projectRoot: root,
      ask: async (prompt) => {
        prompts.push(prompt);
        return answers[prompts.length - 1]!;
      },
    });
    let restarts = 0;
    const run = () =>
      runToolCall(
        { id: 'c', name: 'restart_session', input: { reason: 'new config' } },
        {
          tools: new ToolSet(createCodingTools()),
          permissions,
          context: contextFor(root, { requestRestart: () => void restarts++ }),
        },
      );
    expect((await run()).errorCode).toBe('permission_denied');
    expect(restarts).toBe(0);
    expect((await run()).isError).toBe(false);
    expect((await run()).isError).toBe(false);
    expect(restarts).toBe(2);
    // "Allow always" saved nothing: the third restart was asked about too.
    expect(prompts).toHaveLength(3);
    expect(prompts[0]?.suggestedRules).toEqual([]);
  });
});
