import { type DomainError, domainError } from '../../domain/errors.js';
import type { TeacherPresenceView } from '../../domain/presence.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { PresenceState, PresenceStateEntry } from '../ports/realtime-notifier.js';

/** A teacher of the snapshot in the wire's words (PROTOCOL §5a): times in Unix seconds. */
function onTheWire(view: TeacherPresenceView): PresenceStateEntry {
  return {
    user_id: view.userId,
    state: view.phase === 'connected' ? 'connect' : 'disconnect',
    login_time: view.loginTimeS,
    since: Math.floor(view.sinceMs / 1000),
    lesson_id: view.lessonId,
  };
}

/**
 * The presence of every teacher of the caller's org that has a session — connected or in its
 * grace period — as `presence_state` carries it (PROTOCOL §5a): what a ManagerWeb gets right after
 * it connects and asks for again with `get_presence` when it re-syncs. Only a ManagerWeb may ask
 * (`forbidden`). Read in O(teachers of the org) from the store's own index.
 */
export class GetPresence {
  constructor(private readonly deps: { readonly presence: PresenceStore }) {}

  execute(
    socket: SocketOf,
  ): Promise<Result<PresenceState, DomainError<'forbidden' | 'unavailable'>>> {
    return answerUnavailable(async () => {
      const { identity } = socket;
      if (identity.kind !== 'manager_web') {
        return fail(domainError('forbidden', 'Only a manager can see its org’s presence.'));
      }
      const teachers = await this.deps.presence.snapshot(identity.orgId);
      return ok({ teachers: teachers.map(onTheWire) });
    });
  }
}
