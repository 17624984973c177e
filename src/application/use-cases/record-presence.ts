import type { TeacherRef } from '../../domain/clients.js';
import type { Id } from '../../domain/ids.js';
import type { PresenceEventKind } from '../../domain/presence.js';
import type { PresenceLog } from '../ports/presence-log.js';

/** What a use case needs to write a teacher's presence history. */
export interface PresenceRecording {
  readonly presenceLog: PresenceLog;
  /** The name this node signs its records with (`presence_event.node`). */
  readonly nodeName: string;
}

/**
 * Records one change of a teacher's presence (PROTOCOL §5a) at `atMs`, signed by this node. The
 * log only queues it: recording never delays or fails the event it belongs to.
 */
export function recordPresence(
  deps: PresenceRecording,
  teacher: TeacherRef,
  atMs: number,
  kind: PresenceEventKind,
  reason: string,
  more: { readonly by?: Id; readonly lessonIds?: readonly Id[] } = {},
): Promise<void> {
  return deps.presenceLog.record({
    orgId: teacher.orgId,
    userId: teacher.userId,
    atMs,
    kind,
    reason,
    ...more,
    node: deps.nodeName,
  });
}
