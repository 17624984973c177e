import type { Id } from './ids.js';

/**
 * A teacher's presence as managers see it (PROTOCOL §5a). Phases are the domain's words: the
 * Redis adapter maps them to the alive hash's `state` (`connect` / `disconnect`).
 */
export type PresencePhase = 'connected' | 'grace';

export interface TeacherPresenceView {
  readonly userId: Id;
  readonly phase: PresencePhase;
  /** The alive hash's login_time: the epoch of the session, Unix seconds. */
  readonly loginTimeS: number;
  /** When the phase last changed, Unix milliseconds. */
  readonly sinceMs: number;
  /** The lesson the teacher is in — during the grace period, the lesson it was in. */
  readonly lessonId: Id | null;
}

/** The kinds of presence history records (PROTOCOL §5a, table `presence_event`). */
export type PresenceEventKind = 'connect' | 'disconnect' | 'logout' | 'session_end';

/**
 * Why a presence changed. Disconnect reasons are Socket.IO's own as they come (`transport close`,
 * `ping timeout`, …) plus the service's `token_expired`, `replaced` and `node_lost`.
 */
export type ConnectReason = 'new_session' | 'reconnect';
export type LogoutReason = 'logout' | 'force_logout';
export type SessionEndReason = 'grace_expired';
export type DisconnectReason = string;

/** One record of a teacher's presence history. */
export interface PresenceRecord {
  readonly orgId: Id;
  readonly userId: Id;
  /** Unix milliseconds. */
  readonly atMs: number;
  readonly kind: PresenceEventKind;
  readonly reason: string;
  /** `force_logout`: the manager who forced it. */
  readonly by?: Id;
  /** `session_end`: the lessons it ended. */
  readonly lessonIds?: readonly Id[];
  /** The node that saw the change. */
  readonly node: string;
}
