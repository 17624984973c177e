/**
 * A teacher's session lives in the alive hash: `connect` while a TeacherApp socket holds it,
 * `disconnect` during the grace period, and ended when the hash expires. Every connect starts a
 * new epoch: its `login_time` in Unix seconds. Because each TTL is at least one second, a newer
 * session always has a larger epoch than the one whose expiry could still be in flight, so
 * fencing on the epoch stops a stale expiry from ending a newer session.
 *
 * Phases: connected → grace (after a disconnect) → ended (the alive hash expired or was logged out).
 */
export type SessionPhase = 'connected' | 'grace' | 'ended';

/** The phase an alive hash's `state` shows; no hash means the session is over. */
export function sessionPhase(state: string | undefined): SessionPhase {
  if (state === 'connect') return 'connected';
  return state === 'disconnect' ? 'grace' : 'ended';
}

export type SessionEpoch = number;

export const epochAt = (nowMs: number): SessionEpoch => Math.floor(nowMs / 1000);

/**
 * Whether a socket whose connect started `epoch` belongs to a newer session than the one the alive
 * hash holds: only then may it take the session over. Equal epochs (two connects in one second)
 * are the same session, and the socket already current keeps it.
 */
export const isNewerSession = (epoch: SessionEpoch, current: SessionEpoch): boolean =>
  epoch > current;

/** Whole seconds left of a wait, rounded up and never below 1 (for `retry_after_s`). */
export const retryAfterSeconds = (remainingMs: number): number =>
  Math.max(1, Math.ceil(remainingMs / 1000));
