import { type ClientIdentity, clientKindOf, isRole } from '../../domain/clients.js';
import { type DomainError, domainError, type HandshakeErrorCode } from '../../domain/errors.js';
import { type Id, parseId } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';
import { retryAfterSeconds, type SessionEpoch } from '../../domain/session.js';
import { answerUnavailable } from '../dependencies.js';
import type { Analytics } from '../ports/analytics.js';
import type { Clock } from '../ports/clock.js';
import type { CooldownLedger } from '../ports/cooldown-ledger.js';
import type { IdSource } from '../ports/id-source.js';
import type { PresenceStore, SocketOf, TeacherConnectOutcome } from '../ports/presence-store.js';
import type { Audience, RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { TokenVerifier } from '../ports/token-verifier.js';
import type { Timings } from '../settings.js';
import { type PresenceRecording, recordPresence } from './record-presence.js';
import { trackLessonEvent } from './track-lesson-event.js';

/** The handshake fields as sent, each a string when present. */
export interface Handshake {
  readonly role?: string;
  readonly orgId?: string;
  readonly productType?: string;
  readonly token?: string;
}

export interface ConnectClientCommand {
  readonly sid: string;
  readonly handshake: Handshake;
}

export interface ConnectedClient {
  readonly socket: SocketOf;
  /** The token's `exp` (Unix seconds): the socket's identity lasts until then (PROTOCOL §2a). */
  readonly tokenExpiresAtS: number;
  /** The session epoch a TeacherApp's connect started; null for other clients. */
  readonly epoch: SessionEpoch | null;
  /** The lesson a reconnecting teacher or student was put back into. */
  readonly lessonId: Id | null;
}

export type ConnectClientResult = Result<ConnectedClient, DomainError<HandshakeErrorCode>>;

/**
 * Admits a socket (PROTOCOL §2, §6). Checks run in the contract's order — handshake shape
 * (`invalid_handshake`), token (`unauthorized`), handshake against token (`forbidden`), cooldown
 * (`cooldown` with `retryAfterS`) — and a refused socket leaves no trace. Admitted sockets join
 * their rooms; a TeacherApp's managers hear `teacher_connect`; a reconnect into a lesson rejoins
 * it and is tracked as `reconnect`. A TeacherApp that starts a session, or comes back within its
 * grace period, is recorded in the presence history (`new_session` / `reconnect`); another device
 * of a teacher already connected changes no presence and records nothing. Store failures answer
 * `unavailable`.
 */
export class ConnectClient {
  constructor(
    private readonly deps: PresenceRecording & {
      readonly presence: PresenceStore;
      readonly cooldowns: CooldownLedger;
      readonly notifier: RealtimeNotifier;
      readonly analytics: Analytics;
      readonly tokens: TokenVerifier;
      readonly clock: Clock;
      readonly ids: IdSource;
      readonly timings: Timings;
    },
  ) {}

  async execute({ sid, handshake }: ConnectClientCommand): Promise<ConnectClientResult> {
    const { role, productType, token } = handshake;
    const kind = isRole(role) ? clientKindOf(role, productType) : null;
    if (!isRole(role) || kind === null) {
      return fail(domainError('invalid_handshake', 'Unknown role and product_type combination.'));
    }
    const orgId = handshake.orgId === undefined ? undefined : parseId(handshake.orgId);
    if (orgId === null || (orgId === undefined && kind !== 'student_web')) {
      return fail(domainError('invalid_handshake', 'org_id is missing or not a valid id.'));
    }
    if (token === undefined || token === '') {
      return fail(domainError('unauthorized', 'An access token is required.'));
    }
    const verified = await this.deps.tokens.verify(token);
    if (!verified.ok) return verified;
    const claims = verified.value;
    if (claims.role !== role || (orgId !== undefined && orgId !== claims.orgId)) {
      return fail(
        domainError('forbidden', 'The handshake role or org_id disagrees with the token.'),
      );
    }
    const identity: ClientIdentity = { userId: claims.userId, orgId: claims.orgId, role, kind };
    return answerUnavailable(() => this.admit({ identity, sid }, claims.expiresAtS));
  }

  private async admit(socket: SocketOf, tokenExpiresAtS: number): Promise<ConnectClientResult> {
    const { presence, notifier, timings, clock } = this.deps;
    const { identity, sid } = socket;
    const teacher = { orgId: identity.orgId, userId: identity.userId };
    let lessonId: Id | null = null;
    let epoch: SessionEpoch | null = null;
    if (identity.kind === 'teacher_app') {
      const nowMs = clock.nowMs();
      const outcome = await this.connectTeacher(socket, nowMs);
      if (outcome.kind === 'cooldown') {
        return fail({
          code: 'cooldown',
          message: 'This teacher was logged out by a manager; try again later.',
          retryAfterS: retryAfterSeconds(outcome.remainingMs),
        });
      }
      ({ lessonId, epoch } = outcome);
      await notifier.join(sid, { kind: 'teacher_apps', teacher });
      if (outcome.change !== 'another_device') {
        await recordPresence(this.deps, teacher, nowMs, 'connect', outcome.change);
      }
    } else if (identity.kind === 'student_web') {
      ({ lessonId } = await presence.connectStudent({ socket, lessonTtlS: timings.lessonTtlS }));
    } else {
      await notifier.join(sid, { kind: 'org_managers', orgId: identity.orgId });
    }
    if (lessonId !== null) {
      for (const audience of lessonAudiences(identity, lessonId))
        await notifier.join(sid, audience);
      await trackLessonEvent(this.deps, 'reconnect', identity, lessonId);
    }
    if (identity.kind === 'teacher_app') {
      await notifier.emit(
        { kind: 'org_managers', orgId: identity.orgId },
        { name: 'teacher_connect', payload: { user_id: identity.userId } },
      );
    }
    return ok({ socket, tokenExpiresAtS, epoch, lessonId });
  }

  /**
   * A store that lost its data cannot tell a cooldown from none until one node has restored them
   * from the database (PROTOCOL §6a.3): meanwhile the database answers, and a teacher it holds no
   * cooldown for connects at once. Should the database be away too, the connect is `unavailable`.
   */
  private async connectTeacher(
    socket: SocketOf,
    nowMs: number,
  ): Promise<Exclude<TeacherConnectOutcome, { readonly kind: 'unverified' }>> {
    const { presence, cooldowns, timings } = this.deps;
    const input = {
      socket,
      nowMs,
      presenceTtlS: timings.presenceTtlS,
      lessonTtlS: timings.lessonTtlS,
    };
    const outcome = await presence.connectTeacher(input);
    if (outcome.kind !== 'unverified') return outcome;
    const { orgId, userId } = socket.identity;
    const untilMs = await cooldowns.runningUntil({ orgId, userId }, nowMs);
    if (untilMs !== null) return { kind: 'cooldown', remainingMs: untilMs - nowMs };
    const checked = await presence.connectTeacher({ ...input, noCooldownInDatabase: true });
    if (checked.kind === 'unverified') throw new Error('the store ignored noCooldownInDatabase');
    return checked;
  }
}

/** The rooms a lesson member belongs to: the lesson, and its teachers' room for teachers. */
export function lessonAudiences(identity: ClientIdentity, lessonId: Id): Audience[] {
  const audiences: Audience[] = [{ kind: 'lesson', lessonId }];
  if (identity.kind === 'teacher_app') audiences.push({ kind: 'lesson_teachers', lessonId });
  return audiences;
}
