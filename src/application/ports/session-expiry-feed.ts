import type { TeacherRef } from '../../domain/clients.js';

/**
 * Tells the service soon after a teacher's alive hash expired (Redis keyspace notifications, or
 * the in-memory store's own expiry). A hint only: deliveries can be late, repeated or lost, so
 * the deadline sweep stays the guarantee and EndExpiredSession is safe to call any number of times.
 */
export interface SessionExpiryFeed {
  start(onExpired: (teacher: TeacherRef) => void): Promise<void>;
  stop(): Promise<void>;
}
