import type { InMemoryNotifier } from '../src/adapters/in-memory/in-memory-notifier.js';
import type { Analytics } from '../src/application/ports/analytics.js';
import type { LessonRepository } from '../src/application/ports/lesson-repository.js';
import type {
  PresenceStore,
  SocketOf,
  TeacherPresence,
} from '../src/application/ports/presence-store.js';
import type { TokenVerifier } from '../src/application/ports/token-verifier.js';
import type { Timings } from '../src/application/settings.js';
import type { ConnectClientResult } from '../src/application/use-cases/connect-client.js';
import {
  EndExpiredSession,
  type SessionEndOutcome,
} from '../src/application/use-cases/end-expired-session.js';
import { buildContainer, resolve, type Services } from '../src/composition-root.js';
import type { TeacherRef } from '../src/domain/clients.js';
import { type DomainError, domainError } from '../src/domain/errors.js';
import type { Id } from '../src/domain/ids.js';
import { fail, type Result } from '../src/domain/result.js';
import type { SessionEpoch } from '../src/domain/session.js';
import type { SimUser } from './school.js';
import { SequentialIdSource } from './sequential-id-source.js';
import type { VirtualClock } from './virtual-clock.js';

export type EndExpiredSessionDeps = ConstructorParameters<typeof EndExpiredSession>[0];
export type SessionEndResult = Awaited<ReturnType<EndExpiredSession['execute']>>;

/** Anything that can stand in for EndExpiredSession: the real one, or a test's broken variant. */
export interface SessionEnder {
  execute(teacher: TeacherRef): Promise<SessionEndResult>;
}

/** What one request was answered: `ok` with its data, or a contract error. */
export type Answer<T = unknown> = Result<T, DomainError>;

/** The ports every node shares, as Socket.IO nodes share Redis, the database and the adapter. */
export interface SharedPorts {
  readonly clock: VirtualClock;
  readonly presence: PresenceStore;
  readonly lessons: LessonRepository;
  readonly notifier: InMemoryNotifier;
  readonly analytics: Analytics;
  readonly tokens: TokenVerifier;
  readonly timings: Timings;
  readonly sweepBatchSize: number;
  /** Builds the session-end use case; the real one unless a test plants a broken one. */
  readonly sessionEnder?: (deps: EndExpiredSessionDeps) => SessionEnder;
  /** Hears every session-end answer of every node, whichever path (expiry or sweep) ran it. */
  readonly onSessionEnd: (teacher: TeacherRef, result: SessionEndResult) => void;
}

/**
 * EndExpiredSession as the composition root hands it to the sweep and to the expiry listener,
 * reporting each answer to the simulator. It inherits only to fit the container's type: all the
 * work is the wrapped use case's.
 */
class ObservedEndExpiredSession extends EndExpiredSession {
  constructor(
    deps: EndExpiredSessionDeps,
    private readonly inner: SessionEnder,
    private readonly observe: SharedPorts['onSessionEnd'],
  ) {
    super(deps);
  }

  override async execute(teacher: TeacherRef): Promise<SessionEndResult> {
    const result = await this.inner.execute(teacher);
    this.observe(teacher, result);
    return result;
  }
}

interface HeldSocket {
  readonly socket: SocketOf;
  /** The session epoch of a TeacherApp's connect; null for other clients. */
  readonly epoch: SessionEpoch | null;
  loggedOut: boolean;
}

const internal = () => domainError('internal', 'The server failed to handle this request.');

/**
 * One simulated server node: its own container of use cases over the shared ports, the sockets
 * it holds, and what its gateway and background loops would do — admit, answer requests, handle
 * disconnects, refresh its teachers' presence, sweep, and end sessions on expiry notifications.
 * A use case that throws is answered `internal`, as the gateway answers it.
 */
export class SimNode {
  up = true;
  private readonly sockets = new Map<string, HeldSocket>();
  private readonly service: <K extends keyof Services>(key: K) => Services[K];

  constructor(
    readonly id: number,
    private readonly shared: SharedPorts,
  ) {
    const { clock, presence, lessons, notifier, analytics, tokens, timings } = shared;
    const deps: EndExpiredSessionDeps = { presence, lessons, notifier, clock, timings };
    const ender = shared.sessionEnder?.(deps) ?? new EndExpiredSession(deps);
    const container = buildContainer({
      // Tokens are the school's own (sim/school.ts), so no secret is ever used.
      jwt: { secret: 'unused-by-the-simulator' },
      timings,
      sweepBatchSize: shared.sweepBatchSize,
      overrides: {
        clock,
        ids: new SequentialIdSource(`n${id}-insert`),
        presence,
        lessons,
        notifier,
        analytics,
        tokens,
        endExpiredSession: new ObservedEndExpiredSession(deps, ender, shared.onSessionEnd),
      },
    });
    this.service = (key) => resolve(container, key);
  }

  holds(sid: string): boolean {
    return this.sockets.has(sid);
  }

  /** The gateway's handshake: the socket exists, ConnectClient decides, a refusal drops it. */
  async handshake(sid: string, user: SimUser, token: string): Promise<ConnectClientResult> {
    this.shared.notifier.connect(sid);
    let result: ConnectClientResult;
    try {
      result = await this.service('connectClient').execute({
        sid,
        handshake: {
          role: user.role,
          orgId: user.orgId,
          ...(user.productType === undefined ? {} : { productType: user.productType }),
          token,
        },
      });
    } catch {
      result = fail(domainError('unavailable', 'The handshake failed.'));
    }
    if (result.ok) {
      const { socket, epoch } = result.value;
      this.sockets.set(sid, { socket, epoch, loggedOut: false });
    } else this.shared.notifier.disconnect(sid);
    return result;
  }

  joinLesson(
    sid: string,
    lessonId: Id,
  ): Promise<Answer<{ lesson_id: Id; seats: Record<string, string> }>> {
    return this.answer(sid, (socket) => {
      const { userId, role } = socket.identity;
      return this.service('joinLesson').execute({ socket, userId, lessonId, role });
    });
  }

  async logout(sid: string): Promise<Answer> {
    const answer = await this.answer(sid, (socket) =>
      this.service('logout').execute({ socket, ...socket.identity }),
    );
    const held = this.sockets.get(sid);
    if (answer.ok && held !== undefined) held.loggedOut = true;
    return answer;
  }

  forceLogout(sid: string, target: TeacherRef): Promise<Answer<{ delivered: boolean }>> {
    return this.answer(sid, (socket) =>
      this.service('forceLogout').execute({ socket, userId: target.userId, orgId: target.orgId }),
    );
  }

  setStudentName(
    sid: string,
    input: { lessonId: Id; seatId: string; displayName: string },
  ): Promise<Answer> {
    return this.answer(sid, (socket) =>
      this.service('setStudentName').execute({
        socket,
        studentId: socket.identity.userId,
        ...input,
      }),
    );
  }

  private async answer<T>(
    sid: string,
    run: (socket: SocketOf) => Promise<Answer<T>>,
  ): Promise<Answer<T>> {
    const held = this.sockets.get(sid);
    if (held === undefined) throw new Error(`node ${this.id} holds no socket ${sid}`);
    try {
      return await run(held.socket);
    } catch {
      return fail(internal());
    }
  }

  /**
   * The node noticed that a socket went away: it leaves its rooms, then DisconnectClient runs.
   * False when this node no longer holds it (it crashed meanwhile). Rejects when the use case
   * does, as the gateway only logs that failure.
   */
  async disconnect(sid: string): Promise<boolean> {
    const held = this.sockets.get(sid);
    if (held === undefined) return false;
    this.sockets.delete(sid);
    this.shared.notifier.disconnect(sid);
    await this.service('disconnectClient').execute({
      socket: held.socket,
      loggedOut: held.loggedOut,
    });
    return true;
  }

  /** The process died: its sockets vanish from every room and nothing else happens. */
  crash(): string[] {
    this.up = false;
    const vanished = [...this.sockets.keys()];
    for (const sid of vanished) this.shared.notifier.disconnect(sid);
    this.sockets.clear();
    return vanished;
  }

  restart(): void {
    this.up = true;
  }

  /** RefreshPresence over this node's TeacherApp sockets that are not logged out. */
  async refresh(): Promise<string[]> {
    const teachers: Array<[string, TeacherPresence]> = [];
    for (const [sid, { socket, epoch, loggedOut }] of this.sockets) {
      if (epoch !== null && !loggedOut) teachers.push([sid, { socket, epoch }]);
    }
    await this.service('refreshPresence').execute(teachers.map(([, teacher]) => teacher));
    return teachers.map(([sid]) => sid);
  }

  sweep(): Promise<number> {
    return this.service('sweepOverdueSessions').execute();
  }

  /** What the node's expiry listener does with a notification. */
  endExpiredSession(teacher: TeacherRef): Promise<SessionEndOutcome | DomainError> {
    return this.service('endExpiredSession')
      .execute(teacher)
      .then((result) => (result.ok ? result.value : result.error));
  }
}
