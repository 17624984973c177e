import type { Scheduler } from '../../application/ports/scheduler.js';

/** Node runs a longer timeout after 1 ms instead (with a warning): longer waits go in steps. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Real timers, unref'd: a node's background work never keeps the process alive on its own (the
 * HTTP server does, until it closes). A wait longer than a Node timer can hold (about 24.8 days,
 * such as a token's lifetime) is taken in steps, so the task never runs early.
 */
export class SystemScheduler implements Scheduler {
  after(delayMs: number, task: () => void): () => void {
    let timer: NodeJS.Timeout;
    const wait = (leftMs: number) => {
      const stepMs = Math.min(Math.max(0, leftMs), MAX_TIMEOUT_MS);
      timer = setTimeout(() => (leftMs > stepMs ? wait(leftMs - stepMs) : task()), stepMs).unref();
    };
    wait(delayMs);
    return () => clearTimeout(timer);
  }
}
