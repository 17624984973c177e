import type { InMemoryNotifier } from '../src/adapters/in-memory/in-memory-notifier.js';
import type { ClassroomNode, ClientRequest } from '../src/application/node/classroom-node.js';
import type { Analytics } from '../src/application/ports/analytics.js';
import type { CooldownLedger } from '../src/application/ports/cooldown-ledger.js';
import type { LessonRepository } from '../src/application/ports/lesson-repository.js';
import type { PresenceLog } from '../src/application/ports/presence-log.js';
import type { PresenceStore } from '../src/application/ports/presence-store.js';
import type { SessionExpiryFeed } from '../src/application/ports/session-expiry-feed.js';
import type { TokenVerifier } from '../src/application/ports/token-verifier.js';
import type { Timings } from '../src/application/settings.js';
import type { ConnectClientResult } from '../src/application/use-cases/connect-client.js';
import type { EndExpiredSession } from '../src/application/use-cases/end-expired-session.js';
import { buildNode, resolve } from '../src/composition-root.js';
import type { TeacherRef } from '../src/domain/clients.js';
import type { DomainError } from '../src/domain/errors.js';
import type { Id } from '../src/domain/ids.js';
import { ok, type Result } from '../src/domain/result.js';
import type { Agenda } from './agenda.js';
import type { SimUser } from './school.js';
import { SequentialIdSource } from './sequential-id-source.js';
import type { VirtualClock } from './virtual-clock.js';
import { VirtualScheduler } from './virtual-scheduler.js';

export type SessionEndResult = Awaited<ReturnType<EndExpiredSession['execute']>>;

/** Anything that can stand in for EndExpiredSession: the real one, or a test's broken variant. */
export interface SessionEnder {
  execute(teacher: TeacherRef): Promise<SessionEndResult>;
}

/** What a planted session end may use: the real one, and the ports it works with. */
export interface SessionEnderParts {
  readonly real: SessionEnder;
  readonly lessons: LessonRepository;
  readonly notifier: InMemoryNotifier;
  readonly clock: VirtualClock;
}

/** What one request was answered: `ok` with its data, or a contract error. */
export type Answer<T = unknown> = Result<T, DomainError>;

/** The ports every node shares, as Socket.IO nodes share Redis, the database and the adapter. */
export interface SharedPorts {
  readonly clock: VirtualClock;
  /** The simulation's timeline: node timers are steps in it, ordered by the seed like the rest. */
  readonly agenda: Agenda;
  readonly lessons: LessonRepository;
  /** The database's `teacher_cooldown` table, which every node shares like the lessons. */
  readonly cooldowns: CooldownLedger;
  readonly presenceLog: PresenceLog;
  readonly notifier: InMemoryNotifier;
  /**
   * Whether an event node `fromNodeId` sends reaches socket `sid` now: its own sockets always,
   * another node's only while both nodes' links work (the Redis adapter drops the rest).
   */
  readonly reaches: (fromNodeId: number, sid: string) => boolean;
  readonly analytics: Analytics;
  readonly tokens: TokenVerifier;
  readonly timings: Timings;
  readonly sweepIntervalS: number;
  readonly sweepBatchSize: number;
  /** Replaces EndExpiredSession: how a test plants a broken one (given the real one and ports). */
  readonly sessionEnder?: (parts: SessionEnderParts) => SessionEnder;
  /** Hears every session-end answer of every node, whichever path (expiry or sweep) ran it. */
  readonly onSessionEnd: (teacher: TeacherRef, result: SessionEndResult) => void;
  /** Hears each presence refresh of a node that reached the store. */
  readonly onRefresh: (nodeId: number) => void;
  /** Hears what failed in a node (a use case that threw, a background task). */
  readonly onFailure: (nodeId: number, what: string, error: unknown) => void;
}

/**
 * Expiry notifications as the simulation hands them to one node: the simulation decides who hears
 * what and when (late, twice or never, by its faults), and the node's listener takes it from there.
 */
class SimExpiryFeed implements SessionExpiryFeed {
  private listener: ((teacher: TeacherRef) => void) | null = null;

  async start(onExpired: (teacher: TeacherRef) => void): Promise<void> {
    this.listener = onExpired;
  }

  async stop(): Promise<void> {
    this.listener = null;
  }

  deliver(teacher: TeacherRef): void {
    this.listener?.(teacher);
  }
}

/**
 * The timers of one process: when the process dies its timers die with it, though their steps
 * stay in the agenda — they run as no-ops.
 */
class ProcessScheduler extends VirtualScheduler {
  alive = true;

  override after(delayMs: number, task: () => void, label?: string): () => void {
    return super.after(
      delayMs,
      () => {
        if (this.alive) task();
      },
      label,
    );
  }
}

/**
 * One simulated server process: the real ClassroomNode, built by the composition root over the
 * shared ports, with its timers on the simulation's timeline. The simulation plays the transport:
 * it admits sockets through the node, hands it requests and disconnects, and delivers expiry
 * notifications; the node's own background loops refresh presence and sweep. A crash discards the
 * process and a restart builds a new one, which sweeps at start-up as `classroom serve` does.
 */
export class SimNode {
  private process: {
    readonly node: ClassroomNode;
    readonly scheduler: ProcessScheduler;
    readonly feed: SimExpiryFeed;
    /** What the node listens to for its link coming back. */
    readonly restored: Array<() => void>;
  } | null = null;
  /** The sockets whose transport runs through this node: from their handshake until they go. */
  private readonly transports = new Set<string>();
  /** Counts processes: a message sent to one process never reaches the next. */
  incarnation = 0;

  constructor(
    readonly id: number,
    private readonly shared: SharedPorts,
    /** This node's own link to the shared store, which faults may cut or delay. */
    private readonly presence: PresenceStore,
  ) {}

  get up(): boolean {
    return this.process !== null;
  }

  /** Starts a new process (its first sweep runs now). */
  async start(): Promise<void> {
    const { shared } = this;
    this.incarnation += 1;
    const scheduler = new ProcessScheduler(shared.clock, shared.agenda);
    const feed = new SimExpiryFeed();
    const restored: Array<() => void> = [];
    const notifier = shared.notifier.seenFrom({
      reaches: (sid) => shared.reaches(this.id, sid),
      onRestored: (listener) => restored.push(listener),
    });
    const container = buildNode({
      // Tokens are the school's own (sim/school.ts), so no secret is ever used.
      jwt: { secret: 'unused-by-the-simulator' },
      nodeName: `n${this.id}`,
      timings: shared.timings,
      sweepIntervalS: shared.sweepIntervalS,
      sweepBatchSize: shared.sweepBatchSize,
      adapters: {
        clock: shared.clock,
        scheduler,
        ids: new SequentialIdSource(`n${this.id}.${this.incarnation}-insert`),
        presence: { store: this.presence, expiryFeed: feed },
        lessons: shared.lessons,
        cooldowns: shared.cooldowns,
        presenceLog: shared.presenceLog,
        notifier,
        analytics: shared.analytics,
        tokens: shared.tokens,
      },
      observer: { failed: (what, error) => shared.onFailure(this.id, what, error) },
      useCases: {
        endExpiredSession: (real) => {
          const { lessons, notifier, clock } = shared;
          const ender = shared.sessionEnder?.({ real, lessons, notifier, clock }) ?? real;
          return {
            execute: async (teacher) => {
              const result = await ender.execute(teacher);
              shared.onSessionEnd(teacher, result);
              return result;
            },
          };
        },
        refreshPresence: (real) => ({
          execute: async (teachers) => {
            const refreshed = await real.execute(teachers);
            shared.onRefresh(this.id);
            return refreshed;
          },
        }),
      },
    });
    const node = resolve(container, 'node');
    this.process = { node, scheduler, feed, restored };
    await node.start();
  }

  holds(sid: string): boolean {
    return this.process?.node.holds(sid) ?? false;
  }

  /** Whether socket `sid`'s transport runs through this node (held, or in its handshake). */
  carries(sid: string): boolean {
    return this.transports.has(sid);
  }

  /** The node's link to the other nodes is back: its process hears it. */
  linkRestored(): void {
    for (const listener of this.process?.restored ?? []) listener();
  }

  /**
   * A socket opens and the node runs its handshake. As with Socket.IO, the transport knows the
   * socket from its first packet (rooms can take it during the handshake), drops it when the
   * handshake is refused and connects it when admitted.
   */
  async handshake(sid: string, user: SimUser, token: string): Promise<ConnectClientResult> {
    this.shared.notifier.connect(sid);
    this.transports.add(sid);
    const result = await this.live().admit(sid, {
      role: user.role,
      orgId: user.orgId,
      ...(user.productType === undefined ? {} : { productType: user.productType }),
      token,
    });
    if (result.ok) this.live().connected(sid);
    else this.forget(sid);
    return result;
  }

  joinLesson(
    sid: string,
    lessonId: Id,
    user: SimUser,
  ): Promise<Answer<{ lesson_id: Id; seats: Record<string, string> }>> {
    return this.request(sid, {
      name: 'join_lesson',
      userId: user.userId,
      lessonId,
      role: user.role,
    }) as Promise<Answer<{ lesson_id: Id; seats: Record<string, string> }>>;
  }

  logout(sid: string, user: SimUser): Promise<Answer> {
    return this.request(sid, { name: 'logout', userId: user.userId, orgId: user.orgId });
  }

  forceLogout(sid: string, target: TeacherRef): Promise<Answer<{ delivered: boolean }>> {
    return this.request(sid, {
      name: 'force_logout',
      userId: target.userId,
      orgId: target.orgId,
    }) as Promise<Answer<{ delivered: boolean }>>;
  }

  setStudentName(
    sid: string,
    user: SimUser,
    input: { lessonId: Id; seatId: string; displayName: string },
  ): Promise<Answer> {
    return this.request(sid, { name: 'set_student_name', studentId: user.userId, ...input });
  }

  /**
   * The transport let the socket go — it leaves its rooms at once, as with Socket.IO — and the
   * node handles its disconnect. False when this node no longer holds it (it crashed meanwhile).
   */
  async disconnect(sid: string, reason: string): Promise<boolean> {
    if (!this.holds(sid)) return false;
    this.forget(sid);
    await this.live().disconnect(sid, reason);
    return true;
  }

  /** An expiry notification reaches this node's listener. */
  notifyExpired(teacher: TeacherRef): void {
    this.process?.feed.deliver(teacher);
  }

  /** Resolves once the node has nothing in progress: the simulation moves on only then. */
  async idle(): Promise<void> {
    await this.process?.node.idle();
  }

  /** The process died: its timers die with it, and nothing else happens. */
  crash(): void {
    if (this.process === null) return;
    this.process.scheduler.alive = false;
    this.process = null;
    // Its sockets vanish from every room with it.
    for (const sid of this.transports) this.shared.notifier.disconnect(sid);
    this.transports.clear();
  }

  /** The socket's transport is gone: it leaves every room. */
  private forget(sid: string): void {
    this.shared.notifier.disconnect(sid);
    this.transports.delete(sid);
  }

  private request(sid: string, request: ClientRequest): Promise<Answer> {
    return this.live().request(sid, ok(request));
  }

  private live(): ClassroomNode {
    if (this.process === null) throw new Error(`node ${this.id} is down`);
    return this.process.node;
  }
}
