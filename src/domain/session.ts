/**
 * A teacher's session lives in the alive hash: `connect` while a TeacherApp socket holds it,
 * `disconnect` during the grace period, and ended when the hash expires. Every connect starts a
 * new epoch: its `login_time` in Unix seconds. Because each TTL is at least one second, a newer
 * session always has a larger epoch than the one whose expiry could still be in flight, so
 * fencing on the epoch stops a stale expiry from ending a newer session.
 */
export type PresenceState = 'connect' | 'disconnect';

export type SessionEpoch = number;

export const epochAt = (nowMs: number): SessionEpoch => Math.floor(nowMs / 1000);

/** Whole seconds left of a wait, rounded up and never below 1 (for `retry_after_s`). */
export const retryAfterSeconds = (remainingMs: number): number =>
  Math.max(1, Math.ceil(remainingMs / 1000));
