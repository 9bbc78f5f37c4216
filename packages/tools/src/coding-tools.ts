import { type BashToolOptions, createBashTool } from './bash-tool.js';
import { createEditTool } from './edit-tool.js';
import { createGlobTool, type GlobToolOptions } from './glob-tool.js';
import { createGrepTool, type GrepToolOptions } from './grep-tool.js';
import { createReadTool, type ReadToolOptions } from './read-tool.js';
import { createRestartTool } from './restart-tool.js';
import type { AnyTool } from './tool.js';
import { createWebFetchTool, type WebFetchToolOptions } from './web-fetch-tool.js';
import { createWriteTool } from './write-tool.js';

/** Settings of {@link createCodingTools}, per tool; `false` leaves a tool out. */
export interface CodingToolsOptions {
  read?: ReadToolOptions | false;
  glob?: GlobToolOptions | false;
  grep?: GrepToolOptions | false;
  webFetch?: WebFetchToolOptions | false;
  bash?: BashToolOptions | false;
  write?: false;
  edit?: false;
  restart?: false;
}

/**
 * The built-in tools: Read, Glob, Grep, WebFetch, Bash, Write, Edit and Restart.
 *
 * @example
 * ```ts
 * const tools = new ToolSet(createCodingTools({ bash: { defaultTimeoutMs: 30_000 }, restart: false }));
 * ```
 */
export function createCodingTools(options: CodingToolsOptions = {}): AnyTool[] {
  const tools: AnyTool[] = [];
  if (options.read !== false) tools.push(createReadTool(options.read));
  if (options.glob !== false) tools.push(createGlobTool(options.glob));
  if (options.grep !== false) tools.push(createGrepTool(options.grep));
  if (options.webFetch !== false) tools.push(createWebFetchTool(options.webFetch));
  if (options.bash !== false) tools.push(createBashTool(options.bash));
  if (options.write !== false) tools.push(createWriteTool());
  if (options.edit !== false) tools.push(createEditTool());
  if (options.restart !== false) tools.push(createRestartTool());
  return tools;
}
