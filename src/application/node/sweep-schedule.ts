import type { Background } from './background.js';

/** Wake up a little after a deadline so the alive hash has surely expired by then. */
const DEADLINE_MARGIN_MS = 50;
/** First wait before a past deadline that a sweep could not end is tried again; it doubles. */
const STUCK_DEADLINE_RETRY_MS = 100;

export interface SweepScheduleDeps {
  /** Ends the sessions that are due; resolves to how many it ended. */
  readonly sweep: () => Promise<number>;
  /** The earliest pending deadline in the store, or null. */
  readonly nextDueAtMs: () => Promise<number | null>;
  readonly nowMs: () => number;
  readonly intervalMs: number;
}

/**
 * When SweepOverdueSessions runs: once at start, every SWEEP_INTERVAL_S, and at the earliest
 * pending deadline, so a session ends right after its grace instead of up to an interval late.
 * Sweeps never overlap: a trigger during a sweep runs one more sweep after it. A deadline that is
 * already past is swept at once (a batch at a time), except one that the last sweep saw and could
 * not end (its alive hash has not expired yet, a dependency is down): that one is tried again after
 * a wait that doubles up to the interval, so a session that cannot end yet never spins the loop.
 */
export class SweepSchedule {
  private sweeping = false;
  private sweepAgain = false;
  /** The one deadline timer: when it fires and how to cancel it. */
  private armed: { readonly atMs: number; readonly cancel: () => void } | null = null;
  /** The past deadline the last sweeps could not end, and the wait before the next try. */
  private stuck: { readonly dueAtMs: number; readonly retryMs: number } | null = null;

  constructor(
    private readonly background: Background,
    private readonly deps: SweepScheduleDeps,
  ) {}

  start(): void {
    this.sweepNow();
    this.background.every('sweep overdue sessions', this.deps.intervalMs, () => this.sweepNow());
  }

  /**
   * A deadline this node just set (a disconnect's grace period): the timer is brought forward when
   * it is earlier than the one armed, so the session ends on time without reading the store again.
   */
  deadlineSet(dueAtMs: number): void {
    if (this.armed !== null && this.armed.atMs <= dueAtMs + DEADLINE_MARGIN_MS) return;
    this.arm(Math.max(dueAtMs - this.deps.nowMs() + DEADLINE_MARGIN_MS, 0));
  }

  private sweepNow(): void {
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    void this.background.run('sweep overdue sessions', async () => {
      try {
        do {
          this.sweepAgain = false;
          const ended = await this.deps.sweep();
          await this.rearm(ended === 0);
        } while (this.sweepAgain);
      } finally {
        this.sweeping = false;
      }
    });
  }

  /**
   * Arms the deadline timer for the earliest pending deadline. Only a sweep that ended nothing may
   * hold a past deadline back: a deadline that just came due must never wait for the interval.
   */
  private async rearm(sweptWithoutProgress: boolean): Promise<void> {
    const dueAtMs = await this.deps.nextDueAtMs();
    if (dueAtMs === null) {
      this.disarm();
      return;
    }
    const nowMs = this.deps.nowMs();
    this.arm(
      dueAtMs <= nowMs && sweptWithoutProgress
        ? this.retryDelayMs(dueAtMs)
        : Math.max(dueAtMs - nowMs + DEADLINE_MARGIN_MS, 0),
    );
  }

  private arm(delayMs: number): void {
    this.disarm();
    const boundedMs = Math.min(delayMs, this.deps.intervalMs);
    const cancel = this.background.after(
      boundedMs,
      () => {
        this.armed = null;
        this.sweepNow();
      },
      'deadline timer',
    );
    this.armed = { atMs: this.deps.nowMs() + boundedMs, cancel };
  }

  private disarm(): void {
    this.armed?.cancel();
    this.armed = null;
  }

  /**
   * A sweep ended nothing and `dueAtMs` is past. When it is not the deadline that was stuck before,
   * the sessions that sweep saw were ended by another node or a notification, and this is the next
   * one come due: sweep at once. The same deadline again waits, twice as long each time.
   */
  private retryDelayMs(dueAtMs: number): number {
    if (this.stuck?.dueAtMs !== dueAtMs) {
      this.stuck = { dueAtMs, retryMs: STUCK_DEADLINE_RETRY_MS };
      return 0;
    }
    const { retryMs } = this.stuck;
    this.stuck = { dueAtMs, retryMs: Math.min(retryMs * 2, this.deps.intervalMs) };
    return retryMs;
  }
}
