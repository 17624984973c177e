import type { Scheduler } from '../ports/scheduler.js';

/** Hears what went wrong in a background task, so an adapter can log it (the core is silent). */
export type TaskFailureListener = (task: string, error: unknown) => void;

/**
 * A node's background work on the Scheduler port: every run guarded, so a failure is reported and
 * never escapes, and every run awaited by `stop()`. Periodic tasks never overlap: the next run is
 * armed when the previous one has finished.
 */
export class Background {
  private readonly cancels = new Set<() => void>();
  private readonly running = new Set<Promise<void>>();
  private stopped = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly failed: TaskFailureListener,
  ) {}

  /** Runs `task` now (after the current work), guarded; resolves when it has finished. */
  run(name: string, task: () => unknown): Promise<void> {
    if (this.stopped) return Promise.resolve();
    const run = Promise.resolve()
      .then(task)
      .then(
        () => undefined,
        (error: unknown) => this.failed(name, error),
      );
    this.running.add(run);
    void run.finally(() => this.running.delete(run));
    return run;
  }

  /** Runs `task` every `intervalMs`, the first time `firstDelayMs` from now. */
  every(name: string, intervalMs: number, task: () => unknown, firstDelayMs = intervalMs): void {
    const tick = () => {
      void this.run(name, task).then(() => this.after(intervalMs, tick, name));
    };
    this.after(firstDelayMs, tick, name);
  }

  /** A one-shot timer named `label`; the returned function cancels it. None once stopped. */
  after(delayMs: number, callback: () => void, label?: string): () => void {
    if (this.stopped) return () => {};
    const cancel = this.scheduler.after(
      delayMs,
      () => {
        this.cancels.delete(cancel);
        callback();
      },
      label,
    );
    this.cancels.add(cancel);
    return () => {
      cancel();
      this.cancels.delete(cancel);
    };
  }

  /** Whether a run is in progress. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Resolves once the runs in progress have finished (and the runs they started). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled(this.running);
  }

  /** Cancels every timer, arms no more, and resolves once the runs in progress have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
    await this.settled();
  }
}
