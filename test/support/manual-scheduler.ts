import type { VirtualClock } from '../../sim/virtual-clock.js';
import type { Scheduler } from '../../src/application/ports/scheduler.js';

/** Timers on a virtual clock that run only when the test says so (`runDue`), in time order. */
export class ManualScheduler implements Scheduler {
  private tasks: Array<{ readonly atMs: number; readonly task: () => void }> = [];

  constructor(private readonly clock: VirtualClock) {}

  after(delayMs: number, task: () => void): () => void {
    const entry = { atMs: this.clock.nowMs() + delayMs, task };
    this.tasks.push(entry);
    return () => {
      this.tasks = this.tasks.filter((other) => other !== entry);
    };
  }

  /** Runs every task that is due by now, earliest first. */
  runDue(): void {
    const nowMs = this.clock.nowMs();
    const due = this.tasks.filter(({ atMs }) => atMs <= nowMs).sort((a, b) => a.atMs - b.atMs);
    this.tasks = this.tasks.filter((entry) => !due.includes(entry));
    for (const { task } of due) task();
  }
}
