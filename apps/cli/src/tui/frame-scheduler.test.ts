import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FrameScheduler } from './frame-scheduler.js';

describe('FrameScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('draws at most 20 frames a second however often it is asked', () => {
    let frames = 0;
    const scheduler = new FrameScheduler(
      () => frames++,
      50,
      () => Date.now(),
    );
    // A token every millisecond for one second.
    for (let ms = 0; ms < 1000; ms++) {
      scheduler.request();
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(100);
    expect(frames).toBeGreaterThanOrEqual(19);
    expect(frames).toBeLessThanOrEqual(21);
  });

  it('draws a lone request at once, and can be stopped', () => {
    let frames = 0;
    const scheduler = new FrameScheduler(
      () => frames++,
      50,
      () => Date.now(),
    );
    scheduler.request();
    vi.advanceTimersByTime(0);
    expect(frames).toBe(1);
    scheduler.request();
    scheduler.stop();
    vi.advanceTimersByTime(100);
    expect(frames).toBe(1);
  });
});
