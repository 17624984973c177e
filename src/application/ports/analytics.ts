import type { ClientKind, Role } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';

export interface AnalyticsEvent {
  readonly name: 'reconnect' | 'disconnect';
  readonly distinctId: Id;
  readonly lessonId: Id;
  readonly orgId: Id;
  readonly role: Role;
  readonly client: ClientKind;
  readonly timeMs: number;
  /** Unique per event so that a retried batch is never counted twice. */
  readonly insertId: string;
}

/** Product analytics. Never delays or fails a request: `track` only enqueues and never rejects. */
export interface Analytics {
  track(event: AnalyticsEvent): Promise<void>;
}
