import type { Scheduler } from '../../application/ports/scheduler.js';

/**
 * Real timers, unref'd: a node's background work never keeps the process alive on its own (the
 * HTTP server does, until it closes).
 */
export class SystemScheduler implements Scheduler {
  after(delayMs: number, task: () => void): () => void {
    const timer = setTimeout(task, delayMs).unref();
    return () => clearTimeout(timer);
  }
}
