import type { Role, TeacherRef } from '../../domain/clients.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import type { Id } from '../../domain/ids.js';
import { fail, type Result } from '../../domain/result.js';
import type { SessionEpoch } from '../../domain/session.js';
import { DependencyUnavailableError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { PresenceLog } from '../ports/presence-log.js';
import type {
  HeldSocketState,
  PresenceStore,
  SocketOf,
  TeacherPresence,
} from '../ports/presence-store.js';
import type { RealtimeNotifier } from '../ports/realtime-notifier.js';
import type { Scheduler } from '../ports/scheduler.js';
import type { SessionExpiryFeed } from '../ports/session-expiry-feed.js';
import type { UseCase } from '../use-case.js';
import type {
  ConnectClientCommand,
  ConnectClientResult,
  Handshake,
} from '../use-cases/connect-client.js';
import type {
  DisconnectClientCommand,
  DisconnectDecision,
} from '../use-cases/disconnect-client.js';
import type { EndExpiredSession } from '../use-cases/end-expired-session.js';
import type { ForceLogout, ForceLogoutCommand } from '../use-cases/force-logout.js';
import type { GetPresence } from '../use-cases/get-presence.js';
import type {
  GetPresenceHistory,
  GetPresenceHistoryCommand,
} from '../use-cases/get-presence-history.js';
import type { HealStore } from '../use-cases/heal-store.js';
import type { JoinLesson, JoinLessonCommand } from '../use-cases/join-lesson.js';
import type { Logout, LogoutCommand } from '../use-cases/logout.js';
import type { RefreshPresence } from '../use-cases/refresh-presence.js';
import type { RefreshToken, RefreshTokenCommand } from '../use-cases/refresh-token.js';
import type { SetStudentName, SetStudentNameCommand } from '../use-cases/set-student-name.js';
import { Background } from './background.js';
import { DisconnectReplays } from './disconnect-replays.js';
import { DueHeap } from './due-heap.js';
import { SweepSchedule } from './sweep-schedule.js';
import { type RateLimit, TokenBucket } from './token-bucket.js';

/** A client→server request of PROTOCOL §5, validated at the door; identity is the socket's own. */
export type ClientRequest =
  | {
      readonly name: 'join_lesson';
      readonly userId: Id;
      readonly lessonId: Id;
      readonly role: Role;
    }
  | { readonly name: 'logout'; readonly userId: Id; readonly orgId: Id }
  | { readonly name: 'force_logout'; readonly userId: Id; readonly orgId: Id }
  | {
      readonly name: 'set_student_name';
      readonly lessonId: Id;
      readonly studentId: Id;
      readonly displayName: string;
      readonly seatId: string;
    }
  | { readonly name: 'refresh_token'; readonly token: string }
  | { readonly name: 'get_presence' }
  | {
      readonly name: 'get_presence_history';
      readonly userId: Id;
      readonly limit: number;
      readonly beforeMs?: number;
    };

/** What a request is answered: its data, or a contract error (PROTOCOL §4). */
export type Answer = Result<unknown, DomainError>;

/** The answer a use case's `execute` resolves to. */
type AnswerOf<T extends { execute(command: never): Promise<unknown> }> = Awaited<
  ReturnType<T['execute']>
>;

/** The use cases a node runs, by what they do. */
export interface NodeUseCases {
  readonly connectClient: UseCase<ConnectClientCommand, ConnectClientResult>;
  readonly disconnectClient: UseCase<DisconnectClientCommand, DisconnectDecision>;
  readonly joinLesson: UseCase<JoinLessonCommand, AnswerOf<JoinLesson>>;
  readonly logout: UseCase<LogoutCommand, AnswerOf<Logout>>;
  readonly forceLogout: UseCase<ForceLogoutCommand, AnswerOf<ForceLogout>>;
  readonly setStudentName: UseCase<SetStudentNameCommand, AnswerOf<SetStudentName>>;
  readonly refreshToken: UseCase<RefreshTokenCommand, AnswerOf<RefreshToken>>;
  readonly getPresenceHistory: UseCase<GetPresenceHistoryCommand, AnswerOf<GetPresenceHistory>>;
  readonly endExpiredSession: UseCase<TeacherRef, AnswerOf<EndExpiredSession>>;
  readonly sweepOverdueSessions: UseCase<void, number>;
  readonly refreshPresence: UseCase<readonly TeacherPresence[], AnswerOf<RefreshPresence>>;
  readonly healStore: UseCase<readonly HeldSocketState[], AnswerOf<HealStore>>;
  readonly getPresence: UseCase<SocketOf, AnswerOf<GetPresence>>;
}

export interface NodeSettings {
  readonly rateLimit: RateLimit;
  /** SWEEP_INTERVAL_S in ms: how often missed session ends are looked for. */
  readonly sweepIntervalMs: number;
  /** How often this node's teachers' presence is refreshed (a third of PRESENCE_TTL_S). */
  readonly presenceRefreshMs: number;
  /** PRESENCE_LOG_DAYS in ms: presence history older than this is deleted. */
  readonly presenceLogRetentionMs: number;
}

/** How often the presence history is pruned of records past their retention. */
const PRESENCE_LOG_PRUNE_EVERY_MS = 3_600_000;
/** Disconnects kept to replay while the store is away, at most (the oldest go first). */
const MAX_DISCONNECT_REPLAYS = 10_000;
/** How often kept disconnects are tried again while the store is away. */
const DISCONNECT_REPLAY_EVERY_MS = 1_000;
/** A manager's snapshot the store could not give is tried again after 1 s, 2 s, 4 s … 30 s. */
const SNAPSHOT_FIRST_RETRY_MS = 1_000;
const SNAPSHOT_LAST_RETRY_MS = 30_000;

/** What an adapter hears from a node that is otherwise silent (the core does not log). */
export interface NodeObserver {
  /**
   * Something failed: `what` names the use case or background task, `about` the socket it was for.
   * A request it belonged to was answered `unavailable` when `error` is a
   * DependencyUnavailableError, `internal` otherwise.
   */
  failed(what: string, error: unknown, about?: FailureSubject): void;
}

/** The socket a failure concerned, for the log. */
export interface FailureSubject {
  readonly sid: string;
  readonly userId?: Id;
}

export interface NodeDeps {
  readonly useCases: NodeUseCases;
  readonly presence: Pick<PresenceStore, 'nextDueAtMs'>;
  readonly presenceLog: Pick<PresenceLog, 'prune'>;
  readonly expiryFeed: SessionExpiryFeed;
  readonly notifier: Pick<RealtimeNotifier, 'leaveAll' | 'emit' | 'close' | 'onLinkRestored'>;
  readonly clock: Clock;
  readonly scheduler: Scheduler;
  readonly settings: NodeSettings;
  readonly observer?: NodeObserver;
}

/** A socket this node admitted, and what the node keeps about it. */
interface HeldSocket {
  readonly socket: SocketOf;
  /** The session epoch a TeacherApp's connect started; null for other clients. */
  readonly epoch: SessionEpoch | null;
  /** The lesson it joined last, or was put back into on a reconnect: what a store loss restores. */
  lessonId: Id | null;
  /** After `logout`: presence is no longer refreshed, and the disconnect writes nothing. */
  loggedOut: boolean;
  /** The transport let the socket go; its disconnect waits in the queue behind its requests. */
  gone: boolean;
  /** When the socket's token runs out (its `exp`, in ms); a refresh moves it. */
  tokenExpiresAtMs: number;
  /** Whether `token_expiring` went out for the current token (once per token). */
  expiringSent: boolean;
  /** The node closed the socket because its token ran out. */
  expired: boolean;
  /** Made on the socket's first request: an idle socket costs no bucket. */
  bucket: TokenBucket | null;
  /** The end of the socket's queue of work, or null when it has none. */
  tail: Promise<void> | null;
}

const unavailable = () =>
  domainError('unavailable', 'A backing service is unavailable; try again shortly.');
const internal = () => domainError('internal', 'The server failed to handle this request.');
const rateLimited = () => domainError('rate_limited', 'Too many requests; slow down.');
const tokenExpired = () =>
  domainError('unauthorized', 'The access token has expired; connect again with a fresh one.');
/** `token_expiring` goes out this long before the token's `exp` (PROTOCOL §2a). */
const TOKEN_NOTICE_MS = 30_000;
const ignore = () => {};

/**
 * One server node, without its transport: the Socket.IO gateway, the simulator and the tests all
 * drive this same class.
 *
 * - `admit` runs ConnectClient for a handshake and holds the socket it admitted; `connected` says
 *   the transport connected it (events can reach it from then on).
 * - `request` answers one request of a held socket, exactly once: `rate_limited` over the
 *   socket's token bucket, the door's `invalid_payload`, or its use case's answer — `internal`
 *   when a use case throws, `unavailable` when it throws for a dependency. A socket's requests
 *   and its disconnect run one after another in arrival order, so a client may send join_lesson
 *   and set_student_name back to back, and a disconnect sees a logout that came before it.
 * - `disconnect` runs DisconnectClient once the socket's earlier requests are done, and arms the
 *   deadline timer with the grace period it started.
 * - In the background, on the Scheduler: the presence refresh of this node's TeacherApp sockets,
 *   the deadline sweep, session ends on expiry notifications, token notices and expiries, and the
 *   pruning of the presence history.
 */
export class ClassroomNode {
  private readonly held = new Map<string, HeldSocket>();
  private readonly pending = new Set<Promise<unknown>>();
  private readonly background: Background;
  private readonly sweeps: SweepSchedule;
  /** Token notices and expiries of the held sockets, earliest first, served by one timer. */
  private readonly tokenTimers = new DueHeap();
  private tokenTimer: { readonly atMs: number; readonly cancel: () => void } | null = null;
  /** TeacherApp disconnects the store could not take yet (PROTOCOL §6a.4). */
  private readonly replays = new DisconnectReplays(MAX_DISCONNECT_REPLAYS);
  private replayArmed = false;
  private closing: Promise<void> | null = null;

  constructor(private readonly deps: NodeDeps) {
    const report = (what: string, error: unknown) => deps.observer?.failed(what, error);
    this.background = new Background(deps.scheduler, report);
    this.sweeps = new SweepSchedule(this.background, {
      sweep: () => deps.useCases.sweepOverdueSessions.execute(),
      nextDueAtMs: () => deps.presence.nextDueAtMs(),
      nowMs: () => deps.clock.nowMs(),
      intervalMs: deps.settings.sweepIntervalMs,
    });
  }

  /**
   * Takes the node's first look at the store (whether it lost data: the node's later looks compare
   * with it), then starts listening for expired sessions and the background loops; the first
   * sweep runs now.
   */
  async start(): Promise<void> {
    const { useCases, settings } = this.deps;
    await this.background.run('heal the store', () => this.heal());
    await this.deps.expiryFeed.start((teacher) => {
      void this.background.run('end an expired session', async () => {
        const result = await useCases.endExpiredSession.execute(teacher);
        // A session whose node was lost starts its grace period here: arm for its end.
        if (result.ok && !result.value.ended && result.value.graceUntilMs !== undefined) {
          this.sweeps.deadlineSet(result.value.graceUntilMs);
        }
      });
    });
    this.deps.notifier.onLinkRestored(() => this.resendSnapshots());
    this.background.every('refresh presence', settings.presenceRefreshMs, () =>
      this.keepPresence(),
    );
    this.background.every('prune the presence history', PRESENCE_LOG_PRUNE_EVERY_MS, () =>
      this.deps.presenceLog.prune(this.deps.clock.nowMs() - settings.presenceLogRetentionMs),
    );
    this.sweeps.start();
  }

  /** Whether this node holds the socket (admitted, and its disconnect not yet handled). */
  holds(sid: string): boolean {
    return this.held.has(sid);
  }

  /**
   * Runs the handshake of socket `sid`. An admitted socket is held until `disconnect(sid)`; a
   * refused one leaves no trace. While closing, every handshake is refused `unavailable`.
   */
  admit(sid: string, handshake: Handshake): Promise<ConnectClientResult> {
    if (this.closing !== null) return Promise.resolve(fail(unavailable()));
    return this.track(
      (async (): Promise<ConnectClientResult> => {
        let result: ConnectClientResult;
        try {
          result = await this.deps.useCases.connectClient.execute({ sid, handshake });
        } catch (error) {
          // Whatever broke, the client may try again: a handshake has no `internal` refusal.
          this.deps.observer?.failed('ConnectClient', error, { sid });
          return fail(unavailable());
        }
        if (result.ok) {
          const { socket, epoch, tokenExpiresAtS, lessonId } = result.value;
          const held: HeldSocket = {
            socket,
            epoch,
            lessonId,
            loggedOut: false,
            gone: false,
            tokenExpiresAtMs: tokenExpiresAtS * 1000,
            expiringSent: false,
            expired: false,
            bucket: null,
            tail: null,
          };
          this.held.set(sid, held);
        }
        return result;
      })(),
    );
  }

  /**
   * The transport has connected an admitted socket (Socket.IO's `connection`): from now on events
   * can reach it, so its token is watched from here on (PROTOCOL §2a).
   */
  connected(sid: string): void {
    const held = this.held.get(sid);
    if (held === undefined || held.gone) return;
    this.watchToken(held);
    if (held.socket.identity.kind === 'manager_web') {
      // In the socket's queue, so that the snapshot comes before the answer to any request it
      // sent right away; events emitted meanwhile reached it already (it joined its org's room
      // while admitted) and the snapshot, read after them, already holds them.
      void this.enqueue(held, () => this.sendSnapshot(held));
    }
  }

  /**
   * The node's link to the other nodes is back after a loss: presence events they sent meanwhile
   * never reached this node's managers, so each gets a fresh snapshot (PROTOCOL §5a), in its
   * queue like the first one.
   */
  private resendSnapshots(): void {
    if (this.closing !== null) return;
    for (const held of this.held.values()) {
      if (held.socket.identity.kind === 'manager_web' && !held.gone) {
        void this.enqueue(held, () => this.sendSnapshot(held));
      }
    }
  }

  /**
   * A snapshot the store could not give (it is away) is tried again, sooner first, until it comes
   * or the socket goes: a manager admitted during an outage still gets one once the store is back.
   */
  private async sendSnapshot(held: HeldSocket, retryMs = SNAPSHOT_FIRST_RETRY_MS): Promise<void> {
    const state = await this.guard('send the presence snapshot', held, () =>
      this.deps.useCases.getPresence.execute(held.socket),
    );
    if (held.gone) return;
    if (!state.ok) {
      if (state.error.code !== 'unavailable') return;
      this.background.after(retryMs, () => {
        if (held.gone) return;
        const next = Math.min(2 * retryMs, SNAPSHOT_LAST_RETRY_MS);
        void this.enqueue(held, () => this.sendSnapshot(held, next));
      });
      return;
    }
    await this.deps.notifier.emit(
      { kind: 'socket', sid: held.socket.sid },
      { name: 'presence_state', payload: state.value },
    );
  }

  /**
   * Answers one request of socket `sid` (the door has validated the payload, or says why not).
   * Never rejects. A socket the node does not hold is answered `internal`: the door asked for it.
   */
  request(
    sid: string,
    request: Result<ClientRequest, DomainError<'invalid_payload'>>,
  ): Promise<Answer> {
    const held = this.held.get(sid);
    if (held === undefined || held.gone) return Promise.resolve(fail(internal()));
    held.bucket ??= new TokenBucket(this.deps.clock, this.deps.settings.rateLimit);
    if (!held.bucket.tryTake()) return Promise.resolve(fail(rateLimited()));
    if (this.deps.clock.nowMs() >= held.tokenExpiresAtMs) {
      return Promise.resolve(fail(tokenExpired()));
    }
    if (!request.ok) return this.enqueue(held, async () => request);
    const command = request.value;
    return this.enqueue(held, () => this.guard(command.name, held, () => this.run(held, command)));
  }

  /**
   * The transport let socket `sid` go (`reason` as the transport names it). From now on it is not
   * refreshed; once its earlier requests are done it leaves every audience and DisconnectClient
   * runs. Resolves when that is done; never rejects.
   */
  disconnect(sid: string, reason: string): Promise<void> {
    const held = this.held.get(sid);
    if (held === undefined || held.gone) return Promise.resolve();
    held.gone = true;
    return this.enqueue(held, async () => {
      this.held.delete(sid);
      await this.deps.notifier.leaveAll(sid).catch(ignore);
      // The transport says the server closed it; the node knows why.
      const why = held.expired ? 'token_expired' : reason;
      await this.guard('DisconnectClient', held, async () => {
        const state = { socket: held.socket, epoch: held.epoch, lessonId: held.lessonId };
        try {
          await this.leave({ socket: held.socket, loggedOut: held.loggedOut, reason: why }, state);
        } catch (error) {
          if (!(error instanceof DependencyUnavailableError)) throw error;
          if (held.epoch !== null && !held.loggedOut) {
            await this.keepForReplay(state, why);
          }
          throw error;
        }
        return null;
      });
    });
  }

  /**
   * Runs DisconnectClient for a socket this node no longer holds (`state`: what it held of it),
   * and arms the deadline timer with the grace period it started. A teacher the store does not
   * know as live may be one it lost with its data before this node put its sockets back: then
   * the node puts them back, this one included, and runs the disconnect again — otherwise the
   * grace period would never start and the managers would never hear the teacher left.
   */
  private async leave(command: DisconnectClientCommand, state: HeldSocketState): Promise<void> {
    const { disconnectClient } = this.deps.useCases;
    let decision = await disconnectClient.execute(command);
    if (decision.unknownToStore && (await this.heal([state])).lost) {
      decision = await disconnectClient.execute(command);
    }
    if (decision.deadlineMs !== null) this.sweeps.deadlineSet(decision.deadlineMs);
  }

  /**
   * A TeacherApp disconnect the store could not take (its link is down): the managers on this
   * node hear of it at once — unless this node holds another socket of the teacher, which still
   * keeps it online — and it is written, in order, once the store answers (PROTOCOL §6a.4).
   */
  private async keepForReplay(state: HeldSocketState, reason: string): Promise<void> {
    const { identity } = state.socket;
    this.replays.add({ state, reason, atMs: this.deps.clock.nowMs() });
    const stillHere = [...this.held.values()].some(
      (other) =>
        other.epoch !== null &&
        !other.gone &&
        !other.loggedOut &&
        other.socket.identity.orgId === identity.orgId &&
        other.socket.identity.userId === identity.userId,
    );
    if (!stillHere) {
      await this.deps.notifier
        .emit(
          { kind: 'org_managers', orgId: identity.orgId },
          { name: 'teacher_disconnect', payload: { user_id: identity.userId, reason } },
        )
        .catch(ignore);
    }
    this.armReplay();
  }

  private armReplay(): void {
    if (this.replayArmed) return;
    this.replayArmed = true;
    this.background.after(
      DISCONNECT_REPLAY_EVERY_MS,
      () => {
        this.replayArmed = false;
        void this.background.run('replay disconnects', () => this.replay());
      },
      'disconnect replay',
    );
  }

  /** Writes the kept disconnects in order; stops at the first the store still cannot take. */
  private async replay(): Promise<void> {
    try {
      for (let entry = this.replays.first(); entry !== undefined; entry = this.replays.first()) {
        const { state, reason, atMs } = entry;
        await this.leave({ socket: state.socket, loggedOut: false, reason, atMs }, state);
        this.replays.remove(entry);
      }
    } finally {
      if (this.replays.size > 0) this.armReplay();
    }
  }

  /**
   * The presence refresh: first whether the store lost data (then this node puts back what it
   * holds), then this node's TeacherApp sockets kept live. A socket whose teacher has no session
   * any more (logged out from another device, ended) stops being refreshed.
   */
  private async keepPresence(): Promise<void> {
    await this.heal();
    const { ended } = await this.deps.useCases.refreshPresence.execute(this.presenceSockets());
    this.sessionsEnded(ended);
  }

  /**
   * Looks whether the store lost data and heals it: what the node holds, and `also`. Held sockets
   * whose session ended meanwhile are no longer refreshed.
   */
  private async heal(also: readonly HeldSocketState[] = []): Promise<{ readonly lost: boolean }> {
    const states: HeldSocketState[] = [...also];
    for (const held of this.held.values()) {
      if (held.gone || held.loggedOut) continue;
      states.push({ socket: held.socket, epoch: held.epoch, lessonId: held.lessonId });
    }
    const { lost, ended } = await this.deps.useCases.healStore.execute(states);
    this.sessionsEnded(ended);
    return { lost };
  }

  /** TeacherApp sockets whose teacher has no session any more: they count as logged out. */
  private sessionsEnded(sids: readonly string[]): void {
    for (const sid of sids) {
      const held = this.held.get(sid);
      if (held !== undefined) held.loggedOut = true;
    }
  }

  /**
   * Resolves once the node has nothing in progress — no admission, request, disconnect or
   * background run — for whoever moves time only while the node is quiet (a simulation).
   */
  async idle(): Promise<void> {
    while (this.pending.size > 0 || this.background.busy) {
      await Promise.allSettled([...this.pending, this.background.settled()]);
    }
  }

  /**
   * Refuses new handshakes, stops the background loops and the expiry feed, and resolves once
   * every admission, request and disconnect in progress has finished. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.background.stop();
      await this.deps.expiryFeed.stop().catch((error: unknown) => {
        this.deps.observer?.failed('stop the expiry feed', error);
      });
      while (this.pending.size > 0) await Promise.allSettled(this.pending);
    })();
    return this.closing;
  }

  /**
   * The sockets whose presence this node keeps fresh: its admitted TeacherApp sockets that are
   * neither logged out nor gone.
   */
  presenceSockets(): TeacherPresence[] {
    const teachers: TeacherPresence[] = [];
    for (const held of this.held.values()) {
      if (held.epoch !== null && !held.loggedOut && !held.gone) {
        teachers.push({ socket: held.socket, epoch: held.epoch });
      }
    }
    return teachers;
  }

  private async run(held: HeldSocket, request: ClientRequest): Promise<Answer> {
    const { useCases } = this.deps;
    const { socket } = held;
    switch (request.name) {
      case 'join_lesson': {
        const { userId, lessonId, role } = request;
        const answer = await useCases.joinLesson.execute({ socket, userId, lessonId, role });
        if (answer.ok) held.lessonId = lessonId;
        return answer;
      }
      case 'get_presence':
        return useCases.getPresence.execute(socket);
      case 'logout': {
        const { userId, orgId } = request;
        const answer = await useCases.logout.execute({ socket, userId, orgId });
        if (answer.ok) held.loggedOut = true;
        return answer;
      }
      case 'force_logout': {
        const { userId, orgId } = request;
        return useCases.forceLogout.execute({ socket, userId, orgId });
      }
      case 'set_student_name': {
        const { lessonId, studentId, displayName, seatId } = request;
        return useCases.setStudentName.execute({
          socket,
          lessonId,
          studentId,
          displayName,
          seatId,
        });
      }
      case 'get_presence_history': {
        const { userId, limit, beforeMs } = request;
        return useCases.getPresenceHistory.execute({
          socket,
          userId,
          limit,
          ...(beforeMs === undefined ? {} : { beforeMs }),
        });
      }
      case 'refresh_token': {
        const answer = await useCases.refreshToken.execute({ socket, token: request.token });
        if (answer.ok) {
          held.tokenExpiresAtMs = answer.value.exp * 1000;
          held.expiringSent = false;
          this.watchToken(held);
        }
        return answer;
      }
    }
  }

  /** When the socket's token next needs the node: its notice, then its expiry. */
  private static tokenDueAtMs(held: HeldSocket): number {
    return held.expiringSent ? held.tokenExpiresAtMs : held.tokenExpiresAtMs - TOKEN_NOTICE_MS;
  }

  /** Queues the socket's next token moment and makes sure the one timer wakes up for it. */
  private watchToken(held: HeldSocket): void {
    const atMs = ClassroomNode.tokenDueAtMs(held);
    this.tokenTimers.push({ atMs, sid: held.socket.sid });
    if (this.tokenTimer === null || atMs < this.tokenTimer.atMs) this.armTokenTimer(atMs);
  }

  private armTokenTimer(atMs: number): void {
    this.tokenTimer?.cancel();
    const cancel = this.background.after(
      Math.max(0, atMs - this.deps.clock.nowMs()),
      () => {
        this.tokenTimer = null;
        void this.background.run('token expiry', () => this.tokensDue());
      },
      'token timer',
    );
    this.tokenTimer = { atMs, cancel };
  }

  /**
   * Sends the notices and closes the sockets whose moment came (PROTOCOL §2a): `token_expiring`
   * 30 s before `exp` (at once when less is left), once per token; at `exp`, `token_expired` and
   * the server closes the socket. Entries made stale by a refresh or a disconnect are skipped.
   */
  private async tokensDue(): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    for (let due = this.tokenTimers.peek(); due !== undefined && due.atMs <= nowMs; ) {
      this.tokenTimers.pop();
      const held = this.held.get(due.sid);
      if (held !== undefined && !held.gone && ClassroomNode.tokenDueAtMs(held) === due.atMs) {
        const to = { kind: 'socket', sid: held.socket.sid } as const;
        if (nowMs < held.tokenExpiresAtMs) {
          held.expiringSent = true;
          await this.deps.notifier.emit(to, {
            name: 'token_expiring',
            payload: { exp: held.tokenExpiresAtMs / 1000 },
          });
          this.tokenTimers.push({ atMs: held.tokenExpiresAtMs, sid: held.socket.sid });
        } else if (!held.expired) {
          held.expired = true;
          await this.deps.notifier.emit(to, { name: 'token_expired', payload: {} });
          await this.deps.notifier.close(held.socket.sid);
        }
      }
      due = this.tokenTimers.peek();
    }
    const next = this.tokenTimers.peek();
    if (next !== undefined && this.tokenTimer === null) this.armTokenTimer(next.atMs);
  }

  /**
   * Runs a use case for an answer that must come: a throw becomes `unavailable` for a dependency
   * that could not be reached and `internal` otherwise, and is reported either way.
   */
  private async guard<T>(
    what: string,
    { socket }: HeldSocket,
    body: () => Promise<T>,
  ): Promise<T | Result<never, DomainError>> {
    try {
      return await body();
    } catch (error) {
      this.deps.observer?.failed(what, error, {
        sid: socket.sid,
        userId: socket.identity.userId,
      });
      return fail(error instanceof DependencyUnavailableError ? unavailable() : internal());
    }
  }

  /** Appends work to the socket's queue; `work` never rejects (it is guarded). */
  private enqueue<T>(held: HeldSocket, work: () => Promise<T>): Promise<T> {
    const result = (held.tail ?? Promise.resolve()).then(work);
    const tail = this.track(result.then(ignore, ignore));
    held.tail = tail;
    void tail.then(() => {
      if (held.tail === tail) held.tail = null;
    });
    return result;
  }

  /** Registers work that `close()` waits for. */
  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    const settle = () => this.pending.delete(work);
    void work.then(settle, settle);
    return work;
  }
}
