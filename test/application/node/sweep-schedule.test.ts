import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../sim/virtual-clock.js';
import { VirtualScheduler } from '../../../sim/virtual-scheduler.js';
import { Background } from '../../../src/application/node/background.js';
import { SweepSchedule } from '../../../src/application/node/sweep-schedule.js';

const INTERVAL_MS = 5_000;

/**
 * A schedule over a pretend store: `deadlines` are the pending deadlines (ms), and a sweep ends
 * those that are due unless `stuck` says they cannot end yet. Every sweep's time is recorded.
 */
function schedule(options: { deadlines?: number[]; stuck?: boolean; sweepTakesMs?: number } = {}) {
  const clock = new VirtualClock(0);
  const scheduler = new VirtualScheduler(clock);
  const failures: unknown[] = [];
  const background = new Background(scheduler, (_what, error) => failures.push(error));
  const deadlines = [...(options.deadlines ?? [])];
  const sweptAtMs: number[] = [];
  let inSweep = 0;
  let overlapped = false;
  const sweeps = new SweepSchedule(background, {
    sweep: async () => {
      inSweep += 1;
      overlapped ||= inSweep > 1;
      sweptAtMs.push(clock.nowMs());
      if (options.sweepTakesMs !== undefined) {
        await new Promise<void>((done) => scheduler.after(options.sweepTakesMs ?? 0, done));
      }
      const due = options.stuck ? [] : deadlines.filter((atMs) => atMs <= clock.nowMs());
      for (const atMs of due) deadlines.splice(deadlines.indexOf(atMs), 1);
      inSweep -= 1;
      return due.length;
    },
    nextDueAtMs: async () => (deadlines.length === 0 ? null : Math.min(...deadlines)),
    nowMs: () => clock.nowMs(),
    intervalMs: INTERVAL_MS,
  });
  return {
    clock,
    scheduler,
    sweeps,
    deadlines,
    sweptAtMs,
    failures,
    overlapped: () => overlapped,
  };
}

describe('SweepSchedule', () => {
  it('sweeps at start, then every interval', async () => {
    const s = schedule();
    s.sweeps.start();
    await s.scheduler.advance(3 * INTERVAL_MS);
    expect(s.sweptAtMs).toEqual([0, 5_000, 10_000, 15_000]);
  });

  it('wakes up just after the earliest pending deadline instead of waiting for the interval', async () => {
    const s = schedule({ deadlines: [1_200, 2_500] });
    s.sweeps.start();
    await s.scheduler.advance(3_000);
    expect(s.sweptAtMs).toEqual([0, 1_250, 2_550]);
    expect(s.deadlines).toEqual([]);
  });

  it('brings the timer forward for a deadline just set, and never puts it back', async () => {
    const s = schedule({ deadlines: [4_000] });
    s.sweeps.start();
    await s.scheduler.advance(100);
    s.deadlines.push(1_000);
    s.sweeps.deadlineSet(1_000);
    s.deadlines.push(4_500);
    s.sweeps.deadlineSet(4_500);
    await s.scheduler.advance(4_000);
    expect(s.sweptAtMs).toEqual([0, 1_050, 4_050]);
  });

  it('tries a deadline it cannot end yet again after a wait that doubles, up to the interval', async () => {
    const s = schedule({ deadlines: [0], stuck: true });
    s.sweeps.start();
    await s.scheduler.advance(2_000);
    // At once (a new past deadline), then after 100, 200, 400 and 800 ms.
    expect(s.sweptAtMs).toEqual([0, 0, 100, 300, 700, 1_500]);
    await s.scheduler.advance(20_000);
    const gaps = s.sweptAtMs.slice(1).map((atMs, index) => atMs - (s.sweptAtMs[index] ?? 0));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(INTERVAL_MS);
  });

  it('never runs two sweeps at once: a trigger during a sweep runs one more after it', async () => {
    const s = schedule({ sweepTakesMs: 2_000 });
    s.sweeps.start();
    await s.scheduler.advance(100);
    s.sweeps.deadlineSet(500);
    await s.scheduler.advance(6_000);
    expect(s.overlapped()).toBe(false);
    expect(s.sweptAtMs).toEqual([0, 2_000, 5_000]);
  });
});

describe('Background', () => {
  it('reports a task that fails, and goes on running it', async () => {
    const clock = new VirtualClock(0);
    const scheduler = new VirtualScheduler(clock);
    const failures: string[] = [];
    const background = new Background(scheduler, (what) => failures.push(what));
    let runs = 0;
    background.every('flaky', 1_000, () => {
      runs += 1;
      throw new Error('flaky');
    });
    await scheduler.advance(3_000);
    expect(runs).toBe(3);
    expect(failures).toEqual(['flaky', 'flaky', 'flaky']);
  });

  it('stops arming timers once stopped, and waits for the run in progress', async () => {
    const clock = new VirtualClock(0);
    const scheduler = new VirtualScheduler(clock);
    const background = new Background(scheduler, () => {});
    let release = () => {};
    const slow = new Promise<void>((done) => {
      release = done;
    });
    void background.run('slow', () => slow);
    let ticks = 0;
    background.every('tick', 1_000, () => {
      ticks += 1;
    });
    let stoppedYet = false;
    const stopped = background.stop().then(() => {
      stoppedYet = true;
    });
    await new Promise((done) => setImmediate(done));
    expect(stoppedYet).toBe(false);
    release();
    await stopped;
    await scheduler.advance(5_000);
    expect(ticks).toBe(0);
  });
});
