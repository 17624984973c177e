import type { Clock } from '../ports/clock.js';
import type { PresenceStore, TeacherPresence } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';

/**
 * Keeps a node's connected TeacherApp sockets live. Run a few times per `PRESENCE_TTL_S` (every
 * third of it), so a node that dies stops refreshing and its teachers' sessions move to their
 * grace period one TTL plus a sweep later.
 *
 * A socket whose session went into its grace period meanwhile — its node had lost the store for
 * longer than the TTL, and another node started the grace (`node_lost`) — is connected again: the
 * managers hear `teacher_connect` and the presence history records a `reconnect`. A socket whose
 * teacher has no session any more (logged out from another device, or ended) is left alone and
 * returned, so that its node stops refreshing it.
 */
export class RefreshPresence {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  /** Resolves to the sids of the sockets whose teacher has no session any more. */
  async execute(teachers: readonly TeacherPresence[]): Promise<{ readonly ended: string[] }> {
    if (teachers.length === 0) return { ended: [] };
    const { presence, clock, timings, notifier } = this.deps;
    const nowMs = clock.nowMs();
    const { presenceTtlS, lessonTtlS } = timings;
    const outcomes = await presence.refreshTeachers({ teachers, nowMs, presenceTtlS, lessonTtlS });
    const ended: string[] = [];
    for (const [index, { socket }] of teachers.entries()) {
      const outcome = outcomes[index];
      if (outcome === 'ended') ended.push(socket.sid);
      if (outcome !== 'reconnected') continue;
      const { identity } = socket;
      await recordPresence(this.deps, identity, nowMs, 'connect', 'reconnect');
      await notifier.emit(
        { kind: 'org_managers', orgId: identity.orgId },
        { name: 'teacher_connect', payload: { user_id: identity.userId } },
      );
    }
    return { ended };
  }
}
