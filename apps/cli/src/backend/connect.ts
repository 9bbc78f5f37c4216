import type { ShammahConfig, ShammahPaths } from '@shammah/config';
import type { Logger } from '@shammah/provider';
import type { AnyTool } from '@shammah/tools';
import type { Backend } from './backend.js';
import { chooseLocalModel } from './local-model-choice.js';

/** What {@link connectBackend} needs. */
export interface ConnectOptions {
  config: ShammahConfig;
  paths: ShammahPaths;
  tools: readonly AnyTool[];
  logger: Logger;
  model?: string;
  variant?: string;
  direct?: boolean;
  onNotice?: (text: string, tone: 'info' | 'warn' | 'error') => void;
  onChange?: () => void;
}

/**
 * The daemon when the config says to use it (`[client] use_daemon`, default true) and it can be
 * reached or started; otherwise, or with `--direct`, the model in this process.
 */
export async function connectBackend(options: ConnectOptions): Promise<Backend> {
  const { config } = options;
  if (!options.direct && config.client.use_daemon) {
    const { createDaemonBackend } = await import('./daemon-backend.js');
    try {
      return await createDaemonBackend(options);
    } catch (error) {
      options.onNotice?.(
        `${(error as Error).message}\nAnswering in this process instead (--direct or [client] use_daemon = false skip the daemon).`,
        'warn',
      );
    }
  }
  const choice = await chooseLocalModel(config, options.model);
  if (!choice.cached && config.backend.enabled) {
    options.onNotice?.(
      `The local model ${choice.modelId} is not downloaded. Run \`shammah models pull ${choice.modelId}\` (or /model to pick a downloaded one); teachers answer until then.`,
      'warn',
    );
  }
  const { createInProcessBackend } = await import('./in-process-backend.js');
  return createInProcessBackend({
    config,
    paths: options.paths,
    localModel: choice.cached || choice.source === 'flag' ? choice.modelId : undefined,
    ...(options.variant ? { variant: options.variant } : {}),
    tools: options.tools,
    logger: options.logger,
    ...(options.onChange ? { onChange: options.onChange } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
}
