/**
 * A teacher's session is connected while any of its TeacherApp sockets is live, in its grace
 * period after the last one left (or its node stopped refreshing it), and ended when the grace
 * period ran out and a node ended it, or at a logout (the phases are `PresencePhase` in
 * ./presence.ts). Every connect writes a new epoch: its `login_time` in Unix seconds. Because
 * each TTL is at least one second, a newer session always has a larger epoch than the one whose
 * end could still be in flight, so fencing the end on the epoch stops a stale end from ending a
 * newer session.
 */
export type SessionEpoch = number;

export const epochAt = (nowMs: number): SessionEpoch => Math.floor(nowMs / 1000);

/** Whole seconds left of a wait, rounded up and never below 1 (for `retry_after_s`). */
export const retryAfterSeconds = (remainingMs: number): number =>
  Math.max(1, Math.ceil(remainingMs / 1000));
