import type { Scheduler } from '../src/application/ports/scheduler.js';
import { Agenda } from './agenda.js';
import type { VirtualClock } from './virtual-clock.js';

/**
 * The Scheduler port on virtual time: a timer is a step in an agenda, run when whoever owns the
 * time gets there. The simulator shares its agenda, so node timers interleave with every other
 * step by the seed alone; a test moves time itself with `advance`.
 */
export class VirtualScheduler implements Scheduler {
  constructor(
    private readonly clock: VirtualClock,
    private readonly agenda: Agenda = new Agenda(),
  ) {}

  after(delayMs: number, task: () => void, label = 'timer'): () => void {
    const key = this.agenda.schedule(this.clock.nowMs() + Math.max(0, delayMs), label, task);
    return () => this.agenda.cancel(key);
  }

  /**
   * Moves time `ms` forward, running every timer that comes due on the way in order, each at its
   * own moment, and letting the work each one starts settle before the next (the in-memory
   * adapters answer within the event loop's turn). Resolves to how many timers ran.
   */
  async advance(ms: number): Promise<number> {
    const untilMs = this.clock.nowMs() + ms;
    let ran = 0;
    await settle();
    for (let atMs = this.agenda.nextAtMs(); atMs !== undefined && atMs <= untilMs; ) {
      const step = this.agenda.next();
      if (step === undefined) break;
      this.clock.advance(Math.max(0, step.atMs - this.clock.nowMs()));
      await step.run();
      ran += 1;
      await settle();
      atMs = this.agenda.nextAtMs();
    }
    this.clock.advance(untilMs - this.clock.nowMs());
    return ran;
  }
}

/** Lets every promise that can settle now settle (a macrotask comes after all microtasks). */
function settle(): Promise<void> {
  return new Promise((done) => setImmediate(done));
}
