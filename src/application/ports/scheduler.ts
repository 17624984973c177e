/**
 * Timers for the core: real ones in production, the virtual clock's in the simulator and in unit
 * tests, so that every background loop (presence refresh, deadline sweep, token expiry) runs on
 * whichever time the node is given. Like `Clock.nowMs`, it answers at once rather than with a
 * Promise: arming a timer cannot fail.
 */
export interface Scheduler {
  /**
   * Runs `task` once, `delayMs` from now (0: after the work in progress). Returns a function that
   * cancels it if it has not run yet. A task that throws or rejects is the caller's to guard.
   * `label` names the timer for whoever watches time pass (the simulator counts steps by it).
   */
  after(delayMs: number, task: () => void, label?: string): () => void;
}
