import { homedir } from 'node:os';
import { join } from 'node:path';

/** Shammah's home: `SHAMMAH_HOME`, else `~/.shammah`. */
export function shammahHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHAMMAH_HOME || join(homedir(), '.shammah');
}

/** Where each of Shammah's files lives inside its home (names kept from the original). */
export function shammahPaths(home: string = shammahHome()) {
  return {
    home,
    config: join(home, 'config.toml'),
    history: join(home, 'history.txt'),
    trainingQueue: join(home, 'training_queue.jsonl'),
    constitution: join(home, 'constitution.md'),
    toolPatterns: join(home, 'tool_patterns.json'),
    daemonPid: join(home, 'daemon.pid'),
    daemonLog: join(home, 'daemon.log'),
    sessions: join(home, 'sessions'),
    adapters: join(home, 'adapters'),
    routerStats: join(home, 'router_stats.json'),
  } as const;
}

/** The paths returned by {@link shammahPaths}. */
export type ShammahPaths = ReturnType<typeof shammahPaths>;
