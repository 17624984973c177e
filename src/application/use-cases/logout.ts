import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { Clock } from '../ports/clock.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';

export interface LogoutCommand {
  readonly socket: SocketOf;
  readonly userId: Id;
  readonly orgId: Id;
}

/**
 * A TeacherApp logs out (PROTOCOL §6): its alive hash and pending session end are deleted — a
 * logout never ends the lesson — and the org's managers hear `logout`; the presence history
 * records it when the teacher had a session. `forbidden` for another
 * user or org, or a socket that is not a TeacherApp. Idempotent. The caller marks the socket
 * logged out so that its later disconnect writes nothing.
 */
export class Logout {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
    },
  ) {}

  execute(
    command: LogoutCommand,
  ): Promise<Result<Record<string, never>, DomainError<'forbidden' | 'unavailable'>>> {
    return answerUnavailable(async () => {
      const { identity } = command.socket;
      if (
        identity.kind !== 'teacher_app' ||
        command.userId !== identity.userId ||
        command.orgId !== identity.orgId
      ) {
        return fail(domainError('forbidden', 'Only a teacher’s own TeacherApp can log it out.'));
      }
      const teacher = { orgId: identity.orgId, userId: identity.userId };
      if (await this.deps.presence.logoutTeacher(teacher)) {
        await recordPresence(this.deps, teacher, this.deps.clock.nowMs(), 'logout', 'logout');
      }
      await this.deps.notifier.emit(
        { kind: 'org_managers', orgId: identity.orgId },
        { name: 'logout', payload: { user_id: identity.userId } },
      );
      return ok({});
    });
  }
}
