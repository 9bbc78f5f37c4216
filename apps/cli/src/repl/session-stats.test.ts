import { describe, expect, it } from 'vitest';
import type { BackendStatus } from '../backend/backend.js';
import { emptyStats, formatCost, statusSegments } from './session-stats.js';

const inProcess: BackendStatus = {
  mode: 'in-process',
  daemon: { state: 'not-used' },
  local: { modelId: 'Org/Model-1.5B', state: 'ready' },
  teachers: [],
  localTools: true,
};

describe('the status bar', () => {
  it('shows the live token rate while streaming, and the last answer when idle', () => {
    const stats = {
      ...emptyStats(),
      phase: 'streaming' as const,
      firstTokenAt: 1000,
      liveDeltas: 30,
      route: 'local',
      model: 'Org/Model-1.5B',
    };
    expect(statusSegments(stats, inProcess, 4000)).toEqual([
      expect.stringMatching(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] local · Model-1\.5B$/),
      '30 tok · 10.0 tok/s',
      'in-process',
      '0 tok · $0',
    ]);
    const idle = {
      ...stats,
      phase: 'idle' as const,
      inputTokens: 1200,
      outputTokens: 30,
      tokensPerSecond: 9.5,
      latencyMs: 640,
      sessionTokens: 1230,
      costUsd: 0.0123,
      planMode: true,
      pinned: '/local',
    };
    expect(statusSegments(idle, inProcess)).toEqual([
      '● local · Model-1.5B',
      '1.2k→30 tok · 9.5 tok/s',
      'TTFT 640 ms',
      'in-process',
      '1.2k tok · $0.01',
      '/local',
      'PLAN MODE',
    ]);
  });

  it('shows the daemon and a model still loading', () => {
    const daemon: BackendStatus = {
      ...inProcess,
      mode: 'daemon',
      daemon: { state: 'running', address: '127.0.0.1:11435' },
      local: { modelId: 'Org/Model-1.5B', state: 'downloading', progress: 0.42 },
    };
    expect(statusSegments(emptyStats(), daemon)).toEqual([
      '● local Model-1.5B (local downloading 42%)',
      'daemon 127.0.0.1:11435',
      '0 tok · $0',
    ]);
    expect(formatCost(0.00042)).toBe('$0.0004');
  });
});
