import type { BackendStatus } from '../backend/backend.js';

/** What the REPL is doing. */
export type Phase = 'starting' | 'idle' | 'thinking' | 'streaming' | 'tool' | 'asking';

/** Live figures for the status bar. */
export interface SessionStats {
  phase: Phase;
  /** When the current request began (ms, performance.now()). */
  startedAt?: number;
  /** Text deltas in the current answer (a live estimate of tokens). */
  liveDeltas: number;
  firstTokenAt?: number;
  /** The answering model's display name and route of the current or last answer. */
  model?: string;
  route?: string;
  reason?: string;
  /** The last answer's tokens in and out. */
  inputTokens?: number;
  outputTokens?: number;
  tokensPerSecond?: number;
  /** Time to first token of the last answer. */
  latencyMs?: number;
  /** Tokens over the whole session. */
  sessionTokens: number;
  /** Estimated teacher cost over the session, in US dollars. */
  costUsd: number;
  planMode: boolean;
  /** `/local`, `/teacher` or `/model` in force. */
  pinned?: string;
  /** Progress of an approved plan (`step 2/5`). */
  planProgress?: string;
}

/** Fresh figures. */
export function emptyStats(): SessionStats {
  return { phase: 'starting', liveDeltas: 0, sessionTokens: 0, costUsd: 0, planMode: false };
}

/** `1.2 s`, `340 ms`. */
export function formatDuration(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

/** `$0.0123`, with more digits for tiny sums. */
export function formatCost(usd: number): string {
  return usd === 0 ? '$0' : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

/** `1.2k`. */
export function formatCount(count: number): string {
  return count >= 10_000
    ? `${(count / 1000).toFixed(0)}k`
    : count >= 1000
      ? `${(count / 1000).toFixed(1)}k`
      : `${count}`;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function shortModel(id: string): string {
  return id.split('/').at(-1) ?? id;
}

function localState(status: BackendStatus | undefined): string | undefined {
  const local = status?.local;
  if (!local) return undefined;
  if (local.state === 'ready') return undefined;
  if (local.state === 'downloading')
    return `downloading ${local.progress !== undefined ? `${Math.round(local.progress * 100)}%` : ''}`.trim();
  return local.state;
}

function daemonLabel(status: BackendStatus | undefined): string {
  if (!status) return 'starting…';
  if (status.mode === 'in-process') return 'in-process';
  const daemon = status.daemon;
  return daemon.state === 'running' ? `daemon ${daemon.address ?? ''}`.trim() : `daemon ${daemon.state}`;
}

/**
 * The status bar's segments: model and route, tokens, tokens per second, latency, daemon, cost,
 * and the mode. Plain text; the TUI colours it.
 */
export function statusSegments(
  stats: SessionStats,
  backend: BackendStatus | undefined,
  now: number = performance.now(),
): string[] {
  const segments: string[] = [];
  const busy = stats.phase !== 'idle' && stats.phase !== 'starting';
  const spinner = SPINNER[Math.floor(now / 80) % SPINNER.length]!;
  const model =
    stats.model ??
    (backend?.local ? `local ${shortModel(backend.local.modelId)}` : (backend?.teachers[0]?.name ?? '…'));
  const state = localState(backend);
  segments.push(
    `${busy ? spinner : '●'} ${stats.route ? `${stats.route} · ` : ''}${shortModel(model)}${state ? ` (local ${state})` : ''}`,
  );
  if (stats.phase === 'streaming' && stats.firstTokenAt !== undefined) {
    const seconds = (now - stats.firstTokenAt) / 1000;
    const rate = seconds > 0.2 ? stats.liveDeltas / seconds : undefined;
    segments.push(`${stats.liveDeltas} tok${rate ? ` · ${rate.toFixed(1)} tok/s` : ''}`);
  } else if (stats.phase === 'thinking' && stats.startedAt !== undefined) {
    segments.push(`thinking ${formatDuration(now - stats.startedAt)}`);
  } else if (stats.outputTokens !== undefined) {
    segments.push(
      `${formatCount(stats.inputTokens ?? 0)}→${formatCount(stats.outputTokens)} tok${stats.tokensPerSecond ? ` · ${stats.tokensPerSecond.toFixed(1)} tok/s` : ''}`,
    );
  }
  if (stats.latencyMs !== undefined && stats.phase === 'idle')
    segments.push(`TTFT ${formatDuration(stats.latencyMs)}`);
  if (stats.phase === 'tool') segments.push('running tool');
  if (stats.phase === 'asking') segments.push('waiting for you');
  segments.push(daemonLabel(backend));
  segments.push(`${formatCount(stats.sessionTokens)} tok · ${formatCost(stats.costUsd)}`);
  if (stats.pinned) segments.push(stats.pinned);
  if (stats.planProgress) segments.push(stats.planProgress);
  if (stats.planMode) segments.push('PLAN MODE');
  return segments;
}
