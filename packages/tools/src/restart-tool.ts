import { z } from 'zod';
import { RestartUnavailableError } from './errors.js';
import { defineTool, type Tool } from './tool.js';

/** What Restart returns to the UI. */
export interface RestartToolData {
  reason: string;
}

const inputSchema = z.object({
  reason: z.string().min(1).describe('Why a restart is needed, shown to the user when asking.'),
});

/**
 * Restart: asks the host application to restart itself (to load a rebuilt binary, new config or a new
 * model). The host says what restarting means through `context.requestRestart`. Its permission kind is
 * `session`: by default every restart is confirmed by the user, and "allow always" offers no rule.
 */
export function createRestartTool(): Tool<z.output<typeof inputSchema>, RestartToolData> {
  return defineTool({
    name: 'Restart',
    aliases: ['restart_session', 'restart'],
    description:
      'Ask the application to restart itself, e.g. after its code or configuration was changed and rebuilt. ' +
      'The user is asked to confirm. Give the reason.',
    inputSchema,
    kind: 'session',
    permissionTarget: () => ({ type: 'none' }),
    async execute(input, context) {
      if (!context.requestRestart) throw new RestartUnavailableError();
      await context.requestRestart({ reason: input.reason });
      return {
        text: 'Restart requested; the application will restart. Do not call more tools in this turn.',
        data: { reason: input.reason },
      };
    },
  });
}
