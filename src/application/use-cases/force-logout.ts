import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { answerUnavailable } from '../dependencies.js';
import type { Clock } from '../ports/clock.js';
import type { CooldownLedger } from '../ports/cooldown-ledger.js';
import type { PresenceStore, SocketOf } from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';

export interface ForceLogoutCommand {
  readonly socket: SocketOf;
  /** The teacher to log out. */
  readonly userId: Id;
  readonly orgId: Id;
}

/**
 * A manager forces a teacher out (PROTOCOL §6): only a ManagerWeb socket of the same org; an
 * `admin` may target any teacher of its org, a `teacher` only itself (`forbidden` otherwise). The
 * cooldown starts (new TeacherApp connections are refused for `cooldownS`), then the teacher's
 * TeacherApp sockets on any node get `force_logout` and are disconnected. Ack data says whether
 * at least one socket received it.
 *
 * The presence history records it as a `logout` (`force_logout`, by the manager); the disconnect
 * that follows is an ordinary one. The cooldown is written to the database first, so that it outlives a store that loses its data
 * (§6a.3), then to the store; when the store cannot take it the database row is taken back and the
 * request answers `unavailable` having changed nothing.
 */
export class ForceLogout {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly cooldowns: CooldownLedger;
      readonly notifier: RealtimeNotifier;
      readonly clock: Clock;
      readonly timings: Timings;
    },
  ) {}

  execute(
    command: ForceLogoutCommand,
  ): Promise<Result<{ delivered: boolean }, DomainError<'forbidden' | 'unavailable'>>> {
    return answerUnavailable(async () => {
      const { identity } = command.socket;
      if (identity.kind !== 'manager_web' || command.orgId !== identity.orgId) {
        return fail(domainError('forbidden', 'Only a manager of this org can force a logout.'));
      }
      if (identity.role !== 'admin' && command.userId !== identity.userId) {
        return fail(domainError('forbidden', 'A teacher manager can only force out itself.'));
      }
      const teacher = { orgId: identity.orgId, userId: command.userId };
      const { cooldownS } = this.deps.timings;
      const nowMs = this.deps.clock.nowMs();
      const untilMs = nowMs + cooldownS * 1000;
      await this.deps.cooldowns.record({ teacher, untilMs, by: identity.userId });
      let sid: string | null;
      try {
        ({ sid } = await this.deps.presence.startCooldown({ teacher, cooldownS }));
      } catch (error) {
        await this.deps.cooldowns.cancel({ teacher, untilMs });
        throw error;
      }
      await recordPresence(this.deps, teacher, nowMs, 'logout', 'force_logout', {
        by: identity.userId,
      });
      const received = await this.deps.notifier.forceOut(teacher, sid, {
        name: 'force_logout',
        payload: { user_id: teacher.userId },
      });
      return ok({ delivered: received > 0 });
    });
  }
}
