import { InMemoryCooldownLedger } from '../src/adapters/in-memory/in-memory-cooldown-ledger.js';
import { InMemoryLessonRepository } from '../src/adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from '../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceLog } from '../src/adapters/in-memory/in-memory-presence-log.js';
import {
  InMemoryPresenceStore,
  type InMemoryStoreLink,
} from '../src/adapters/in-memory/in-memory-presence-store.js';
import type { Analytics, AnalyticsEvent } from '../src/application/ports/analytics.js';
import type { Attendance, LessonRepository } from '../src/application/ports/lesson-repository.js';
import type { PresenceHistoryQuery, PresenceLog } from '../src/application/ports/presence-log.js';
import type { PresenceStore } from '../src/application/ports/presence-store.js';
import type { ServerEvent } from '../src/application/ports/realtime-notifier.js';
import { DEFAULT_TIMINGS } from '../src/application/settings.js';
import type { TeacherRef } from '../src/domain/clients.js';
import type { Id } from '../src/domain/ids.js';
import type { Lesson } from '../src/domain/lesson.js';
import type { PresenceRecord } from '../src/domain/presence.js';
import { type ActorHost, castActors } from './actors.js';
import { Agenda } from './agenda.js';
import type { Client } from './client.js';
import { EventLog, stamp } from './event-log.js';
import { INVARIANTS, type InvariantName, Invariants } from './invariants.js';
import { type SessionEndResult, type SharedPorts, SimNode } from './node.js';
import { replayCommand, type SimOptions } from './options.js';
import { Prng } from './prng.js';
import { School, SchoolTokens } from './school.js';
import { VirtualClock } from './virtual-clock.js';
import { VirtualScheduler } from './virtual-scheduler.js';

/** SWEEP_INTERVAL_S at its default: how often each node looks for overdue sessions. */
const SWEEP_INTERVAL_MS = 5_000;
/** The runtime's default batch: how many overdue sessions one sweep ends at most. */
const SWEEP_BATCH_SIZE = 100;
/** How many steps between progress reports (and pauses that let the host's timers run). */
const PROGRESS_EVERY_STEPS = 2_000;
/** How often expired keys are noticed, like Redis' active expiry cycle (in ms). */
const EXPIRY_CYCLE_MS = 1_000;

/** Fault parameters: how often and how badly (see sim/options.ts for what each fault is). */
const FAULT_PLAN = {
  expiryDelayMaxMs: 30_000,
  expiryLossProbability: 0.3,
  /** One crash per this much simulated time (at least one per run). */
  crashEveryMs: 2 * 3_600_000,
  crashDownMs: [20_000, 240_000],
  restartEveryMs: 4 * 3_600_000,
  outageEveryMs: 2 * 3_600_000,
  outageMs: [10_000, 180_000],
  /** A node's calls time out and arrive late this often, for this long, this late. */
  lateEveryMs: 15 * 60_000,
  lateForMs: [5_000, 60_000],
  lateByMs: [1, 10_000],
  /**
   * A node's link is down this often, for this long: sometimes past PRESENCE_TTL_S (its teachers
   * go into their grace period as `node_lost`), never past TTL + grace (which may end a session).
   */
  linkDownEveryMs: 45 * 60_000,
  linkDownMs: [5_000, 150_000],
} as const;

export interface SimulationHooks {
  /** Makes the shared presence store: how a test plants a broken store (one without its fence). */
  readonly store?: (clock: VirtualClock) => InMemoryPresenceStore;
  /** Wraps each node's link to the presence store: how a test plants a broken adapter. */
  readonly presence?: (store: PresenceStore) => PresenceStore;
  /** Replaces EndExpiredSession on every node: how a test plants a broken use case. */
  readonly sessionEnder?: SharedPorts['sessionEnder'];
}

export interface SimulationHost {
  /**
   * Resolves at the host's next macrotask, once every promise that can settle has settled. A step
   * still pending then is stuck (every simulated dependency answers within microtasks), which
   * is how a request that is never answered is caught instead of hanging the run.
   */
  readonly macrotask: () => Promise<void>;
  /** Called now and then with the simulated time reached. */
  readonly onProgress?: (simulatedMs: number) => void;
}

export interface SimViolation {
  readonly invariant: InvariantName;
  readonly statement: string;
  readonly message: string;
  readonly step: number;
  readonly at: string;
  readonly trace: readonly string[];
  readonly replay: string;
}

export interface SimReport {
  readonly seed: number;
  /** sha256 of the whole event log: equal for equal options, whatever the machine. */
  readonly hash: string;
  readonly steps: number;
  readonly simulatedMs: number;
  readonly logLines: number;
  readonly stepsByKind: Readonly<Record<string, number>>;
  readonly deliveriesByEvent: Readonly<Record<string, number>>;
  readonly sessionsEnded: number;
  readonly invariantChecks: number;
  readonly violation: SimViolation | null;
}

/** Counts analytics without keeping them: a long run would otherwise hold every event. */
class CountingAnalytics implements Analytics {
  readonly counts: Record<AnalyticsEvent['name'], number> = { reconnect: 0, disconnect: 0 };

  async track(event: AnalyticsEvent): Promise<void> {
    this.counts[event.name] += 1;
  }
}

/** The database as every node sees it, telling the oracle which lessons each write changed. */
class ObservedLessons implements LessonRepository {
  constructor(
    private readonly database: InMemoryLessonRepository,
    private readonly written: (lessonIds: readonly Id[]) => void,
  ) {}

  findLesson(lessonId: Id): Promise<Lesson | null> {
    return this.database.findLesson(lessonId);
  }

  async startLesson(lessonId: Id, nowMs: number): Promise<void> {
    await this.database.startLesson(lessonId, nowMs);
    this.written([lessonId]);
  }

  recordAttendance(attendance: Attendance, nowMs: number): Promise<void> {
    return this.database.recordAttendance(attendance, nowMs);
  }

  async endActiveLessons(teacher: TeacherRef, nowMs: number): Promise<Id[]> {
    const ended = await this.database.endActiveLessons(teacher, nowMs);
    this.written(ended);
    return ended;
  }

  recordedSeats(lessonId: Id): Promise<ReadonlyMap<string, Id>> {
    return this.database.recordedSeats(lessonId);
  }

  activeLessons(): Promise<Array<{ teacher: TeacherRef; lessonId: Id }>> {
    return this.database.activeLessons();
  }
}

/** The presence history as every node sees it, telling the oracle of each record. */
class ObservedPresenceLog implements PresenceLog {
  constructor(
    private readonly log: InMemoryPresenceLog,
    private readonly recorded: (record: PresenceRecord) => void,
  ) {}

  record(entry: PresenceRecord): Promise<void> {
    this.recorded(entry);
    return this.log.record(entry);
  }

  history(query: PresenceHistoryQuery): Promise<PresenceRecord[]> {
    return this.log.history(query);
  }

  prune(beforeMs: number): Promise<number> {
    return this.log.prune(beforeMs);
  }

  flush(): Promise<void> {
    return this.log.flush();
  }
}

const increment = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

/**
 * A deterministic run of the real use cases on the in-memory adapters: K nodes over one presence
 * store, one database and one notifier, a school of actors, the faults asked for, and the
 * invariants checked after every step. Steps run one at a time in the agenda's order, so the
 * seed alone decides every interleaving.
 */
class Simulation implements ActorHost {
  readonly school: School;
  readonly oracle: Invariants;
  readonly staleDisconnects: boolean;
  readonly twoDevices: boolean;
  private readonly clock = new VirtualClock();
  private readonly startMs = this.clock.nowMs();
  private readonly endMs: number;
  private readonly prng: Prng;
  private readonly agenda = new Agenda();
  private readonly events = new EventLog();
  private readonly store: InMemoryPresenceStore;
  private readonly database: InMemoryLessonRepository;
  private readonly cooldowns = new InMemoryCooldownLedger();
  private readonly presenceLog = new InMemoryPresenceLog();
  /** Each node's link to the store, by node id: what the link faults cut and delay. */
  private readonly links = new Map<number, InMemoryStoreLink>();
  private readonly notifier: InMemoryNotifier;
  private readonly nodes: SimNode[] = [];
  private readonly owners = new Map<string, Client>();
  private readonly stepsByKind: Record<string, number> = {};
  private readonly deliveriesByEvent: Record<string, number> = {};
  private sockets = 0;
  private steps = 0;

  constructor(
    private readonly options: SimOptions,
    private readonly host: SimulationHost,
    hooks: SimulationHooks,
  ) {
    this.prng = new Prng(options.seed);
    this.endMs = options.durationMs;
    this.staleDisconnects = options.faults.has('stale-disconnect');
    this.twoDevices = options.faults.has('two-devices');
    this.school = new School({ ...options, sharedIds: options.faults.has('shared-ids') });
    const timings = DEFAULT_TIMINGS;
    this.oracle = new Invariants(
      this.school,
      {
        timings,
        sweepIntervalMs: SWEEP_INTERVAL_MS,
        sweepBatchSize: SWEEP_BATCH_SIZE,
        expiryCycleMs: EXPIRY_CYCLE_MS,
        presenceRefreshMs: (timings.presenceTtlS * 1000) / 3,
      },
      options.nodes,
      () => this.nowMs(),
    );
    this.store = hooks.store?.(this.clock) ?? new InMemoryPresenceStore(this.clock);
    this.database = new InMemoryLessonRepository(this.school.seed());
    this.notifier = new InMemoryNotifier(
      {
        deliver: (sid, event) => this.delivered(sid, event),
        disconnect: (sid) => this.forcedOff(sid),
      },
      // The simulator reads deliveries through the hook; keep no history.
      0,
    );
    const shared: SharedPorts = {
      clock: this.clock,
      agenda: this.agenda,
      lessons: new ObservedLessons(this.database, (ids) => this.oracle.lessonsWritten(ids)),
      cooldowns: this.cooldowns,
      presenceLog: new ObservedPresenceLog(this.presenceLog, (record) =>
        this.oracle.presenceRecorded(record),
      ),
      notifier: this.notifier,
      reaches: (fromNodeId, sid) => this.reaches(fromNodeId, sid),
      analytics: new CountingAnalytics(),
      tokens: new SchoolTokens(this.school),
      timings,
      sweepIntervalS: SWEEP_INTERVAL_MS / 1000,
      sweepBatchSize: SWEEP_BATCH_SIZE,
      ...(hooks.sessionEnder === undefined ? {} : { sessionEnder: hooks.sessionEnder }),
      onSessionEnd: (teacher, result) => this.sessionEndAnswered(teacher, result),
      onRefresh: (nodeId) => this.oracle.refreshed(nodeId),
      onFailure: (nodeId, what, error) => this.logLine(`n${nodeId} ${what} failed: ${error}`),
    };
    // A call sent before its node died still reaches the store: late calls outlive the process.
    const wire = new VirtualScheduler(this.clock, this.agenda);
    for (let id = 1; id <= options.nodes; id++) {
      const link = this.store.link({ scheduler: wire });
      this.links.set(id, link);
      this.nodes.push(new SimNode(id, shared, hooks.presence?.(link) ?? link));
    }
  }

  // ── ActorHost ──────────────────────────────────────────────────────────────────────────────

  nowMs(): number {
    return this.clock.nowMs() - this.startMs;
  }

  at(atMs: number, kind: string, run: () => Promise<void> | void): void {
    if (atMs <= this.endMs) this.agenda.schedule(this.startMs + atMs, kind, run);
  }

  after(delayMs: number, kind: string, run: () => Promise<void> | void): void {
    this.at(this.nowMs() + delayMs, kind, run);
  }

  log(line: string): void {
    this.logLine(line);
  }

  pickNode(prng: Prng): SimNode | null {
    const live = this.nodes.filter((node) => node.up);
    return live.length === 0 ? null : prng.pick(live);
  }

  openSocket(client: Client): string {
    this.sockets += 1;
    const sid = `k${this.sockets}`;
    this.owners.set(sid, client);
    return sid;
  }

  closeSocket(sid: string): void {
    this.owners.delete(sid);
  }

  // ── what the shared ports report ───────────────────────────────────────────────────────────

  private logLine(line: string): void {
    this.events.write(`${stamp(this.nowMs())} ${line}`);
  }

  private delivered(sid: string, event: ServerEvent): void {
    increment(this.deliveriesByEvent, event.name);
    this.logLine(`  → ${sid} ${event.name} ${JSON.stringify(event.payload)}`);
    this.oracle.delivered(sid, event);
    this.owners.get(sid)?.delivered(sid, event);
  }

  /** The server disconnected a socket; its node's gateway handles that as the next thing. */
  private forcedOff(sid: string): void {
    const owner = this.owners.get(sid);
    if (owner !== undefined) this.after(0, 'forced_disconnect', () => owner.forcedOff(sid));
  }

  private sessionEndAnswered(teacher: TeacherRef, result: SessionEndResult): void {
    const who = `${teacher.userId} of org ${teacher.orgId}`;
    if (!result.ok) {
      this.logLine(`session end of ${who} postponed: ${result.error.code}`);
    } else if (result.value.ended) {
      this.logLine(`session of ${who} ended; lessons [${result.value.lessonIds.join(', ')}]`);
      this.oracle.sessionEnded(teacher, result.value.lessonIds);
    }
  }

  // ── nodes, expiries and faults ─────────────────────────────────────────────────────────────

  /**
   * Expired alive hashes since the last step, as the store reports them: the oracle learns of
   * each, then its notification goes out — to one node, or to every node with expiry-dup, late
   * with expiry-delay, and sometimes nowhere with expiry-loss.
   */
  private drainExpiries(): void {
    const { faults } = this.options;
    for (const teacher of this.store.expireDue()) {
      // Time moves only between steps and this runs first in each, so the session is as it was
      // when it lapsed. A connected one (its node died) owes no end yet: the notification starts
      // its grace period, whose own expiry is reported later.
      const lapsed = this.store
        .inspect()
        .sessions.find(
          (s) => s.teacher.orgId === teacher.orgId && s.teacher.userId === teacher.userId,
        );
      if (lapsed?.phase !== 'connected') this.oracle.expired(teacher);
      const live = this.nodes.filter((node) => node.up);
      const targets = faults.has('expiry-dup')
        ? live
        : live.length > 0
          ? [this.prng.pick(live)]
          : [];
      this.logLine(
        `alive of ${teacher.userId} expired; notifying [${targets.map((node) => `n${node.id}`).join(', ')}]`,
      );
      for (const node of targets) {
        if (faults.has('expiry-loss') && this.prng.chance(FAULT_PLAN.expiryLossProbability)) {
          this.logLine(`  expiry of ${teacher.userId} to n${node.id} is lost`);
          continue;
        }
        const delayMs = faults.has('expiry-delay')
          ? this.prng.below(FAULT_PLAN.expiryDelayMaxMs)
          : 0;
        // The notification went to this process: if it dies meanwhile, the message dies too.
        const { incarnation } = node;
        this.after(delayMs, 'expiry_notification', () => {
          if (node.incarnation !== incarnation) return;
          this.logLine(`n${node.id} hears the expiry of ${teacher.userId}`);
          node.notifyExpired(teacher);
        });
      }
    }
  }

  /** Faults at seeded times: a number of each in proportion to the run's length. */
  private planFaults(): void {
    const { faults } = this.options;
    const times = (everyMs: number) =>
      Array.from({ length: Math.max(1, Math.round(this.endMs / everyMs)) }, () =>
        this.prng.below(this.endMs),
      );
    if (faults.has('node-crash')) {
      for (const atMs of times(FAULT_PLAN.crashEveryMs))
        this.at(atMs, 'node_crash', () => this.crash());
    }
    if (faults.has('store-restart')) {
      for (const atMs of times(FAULT_PLAN.restartEveryMs)) {
        this.at(atMs, 'store_restart', () => {
          this.store.restartEmpty();
          this.oracle.storeRestarted();
          this.logLine('the presence store restarted empty');
        });
      }
    }
    if (faults.has('store-late')) {
      for (const atMs of times(FAULT_PLAN.lateEveryMs)) {
        this.at(atMs, 'store_late', () => this.linkFault('late'));
      }
    }
    if (faults.has('link-down')) {
      for (const atMs of times(FAULT_PLAN.linkDownEveryMs)) {
        this.at(atMs, 'link_down', () => this.linkFault('down'));
      }
    }
    if (faults.has('db-outage')) {
      for (const atMs of times(FAULT_PLAN.outageEveryMs)) {
        this.at(atMs, 'db_down', () => this.databaseUp(false));
        const [shortest, longest] = FAULT_PLAN.outageMs;
        this.at(atMs + this.prng.between(shortest, longest), 'db_up', () => this.databaseUp(true));
      }
    }
  }

  /**
   * One node's link to the store misbehaves for a while, whether the node is up or not (a process
   * that restarts meanwhile finds it so): `late` answers every call unavailable at once and
   * delivers it to the store after its deadline, where the fence must drop it; `down` refuses
   * every call. The node goes on serving its sockets either way.
   */
  private linkFault(kind: 'late' | 'down'): void {
    const node = this.prng.pick(this.nodes);
    const link = this.links.get(node.id);
    if (link === undefined) return;
    const [shortest, longest] = kind === 'late' ? FAULT_PLAN.lateForMs : FAULT_PLAN.linkDownMs;
    const forMs = this.prng.between(shortest, longest);
    // Overlapping faults of one kind on one link nest: it is well again when the last is over.
    const key = `${kind}:${node.id}`;
    this.linkFaults.set(key, (this.linkFaults.get(key) ?? 0) + 1);
    this.linkChanged(node.id);
    if (kind === 'late') {
      const lateByMs = this.prng.between(...FAULT_PLAN.lateByMs);
      link.setLate(lateByMs);
      this.logLine(`n${node.id}'s store calls arrive ${lateByMs} ms past their deadline`);
    } else {
      link.setUp(false);
      this.oracle.linkCut(node.id, true);
      this.logLine(`n${node.id}'s link to the store is down`);
    }
    this.after(forMs, kind === 'late' ? 'store_prompt' : 'link_up', () => {
      const left = (this.linkFaults.get(key) ?? 1) - 1;
      this.linkFaults.set(key, left);
      if (left > 0) return;
      if (kind === 'late') link.setLate(null);
      else link.setUp(true);
      this.logLine(`n${node.id}'s link to the store is ${kind === 'late' ? 'prompt' : 'up'} again`);
      this.linkChanged(node.id);
      if (kind === 'down') {
        this.oracle.linkCut(node.id, false);
        node.linkRestored();
      }
    });
  }

  /**
   * The notifier's view of the links: a node whose link is down neither sends to nor hears from
   * the other nodes' sockets; its own it reaches directly (a late link only delays the store).
   */
  private reaches(fromNodeId: number, sid: string): boolean {
    const owner = this.nodes.find((node) => node.carries(sid));
    if (owner === undefined || owner.id === fromNodeId) return true;
    return !this.linkIsDown(fromNodeId) && !this.linkIsDown(owner.id);
  }

  private linkIsDown(nodeId: number): boolean {
    return (this.linkFaults.get(`down:${nodeId}`) ?? 0) > 0;
  }

  /** Tells the oracle whether the node's link works, when that changed. */
  private linkChanged(nodeId: number): void {
    const impaired =
      (this.linkFaults.get(`late:${nodeId}`) ?? 0) + (this.linkFaults.get(`down:${nodeId}`) ?? 0) >
      0;
    if (impaired === this.impairedLinks.has(nodeId)) return;
    if (impaired) this.impairedLinks.add(nodeId);
    else this.impairedLinks.delete(nodeId);
    this.oracle.linkAvailable(nodeId, !impaired);
  }

  private readonly impairedLinks = new Set<number>();

  /** Link faults in progress, by kind and node (`late:2`). */
  private readonly linkFaults = new Map<string, number>();

  /** Overlapping outages nest: the database is back when the last one is over. */
  private outages = 0;

  private databaseUp(up: boolean): void {
    this.outages += up ? -1 : 1;
    const available = this.outages === 0;
    this.database.setAvailable(available);
    this.cooldowns.setAvailable(available);
    this.presenceLog.setAvailable(available);
    if (up !== available) return;
    this.oracle.databaseAvailable(available);
    this.logLine(available ? 'the database is back' : 'the database is unreachable');
  }

  private crash(): void {
    const live = this.nodes.filter((node) => node.up);
    if (live.length === 0) return;
    const node = this.prng.pick(live);
    const vanished = [...this.owners.keys()].filter((sid) => node.holds(sid));
    node.crash();
    this.oracle.nodeAvailable(node.id, false);
    this.logLine(`n${node.id} crashed with ${vanished.length} sockets`);
    for (const sid of vanished) this.owners.get(sid)?.vanished(sid);
    const [shortest, longest] = FAULT_PLAN.crashDownMs;
    this.after(this.prng.between(shortest, longest), 'node_restart', async () => {
      this.oracle.nodeAvailable(node.id, true);
      this.logLine(`n${node.id} restarted`);
      await node.start();
    });
  }

  // ── the run ────────────────────────────────────────────────────────────────────────────────

  async run(): Promise<SimReport> {
    // Nodes come up a little apart, so that their loops do not tick in step.
    for (const node of this.nodes) {
      this.at(this.prng.below(SWEEP_INTERVAL_MS), 'node_start', () => node.start());
    }
    const cycle = () => this.after(EXPIRY_CYCLE_MS, 'expiry_cycle', cycle);
    this.after(EXPIRY_CYCLE_MS, 'expiry_cycle', cycle);
    this.planFaults();
    for (const actor of castActors(this, this.prng.fork())) actor.start();

    const readStatus = async (lessonId: Id) => (await this.database.findLesson(lessonId))?.status;
    let violation: SimViolation | null = null;
    // Node timers re-arm themselves for ever: the run ends at its duration, not when they stop.
    for (let step = this.agenda.next(); step !== undefined; step = this.agenda.next()) {
      if (step.atMs > this.startMs + this.endMs) break;
      this.clock.advance(step.atMs - this.clock.nowMs());
      this.steps += 1;
      increment(this.stepsByKind, step.kind);
      this.drainExpiries();
      // A step is over once every node is quiet again: what the step set off has run its course.
      const running = Promise.resolve()
        .then(() => step.run())
        .then(() => Promise.all(this.nodes.map((node) => node.idle())))
        .then(() => true);
      const finished = await Promise.race([running, this.macrotaskBoundary()]);
      if (!finished) this.logLine(`step ${this.steps} (${step.kind}) never finished`);
      await this.oracle.afterStep(readStatus);
      if (this.oracle.violation !== null) {
        violation = this.describe(this.oracle.violation);
        break;
      }
      if (!finished) throw new Error(`step ${this.steps} (${step.kind}) never finished`);
      if (this.steps % PROGRESS_EVERY_STEPS === 0) {
        this.host.onProgress?.(this.nowMs());
        // Lets the host's own timers (a progress bar, a signal) run between steps.
        await this.host.macrotask();
      }
    }
    this.host.onProgress?.(violation === null ? this.endMs : this.nowMs());
    return {
      seed: this.options.seed,
      hash: this.events.digest(),
      steps: this.steps,
      simulatedMs: violation === null ? this.endMs : this.nowMs(),
      logLines: this.events.lines,
      stepsByKind: this.stepsByKind,
      deliveriesByEvent: this.deliveriesByEvent,
      sessionsEnded: this.oracle.sessionsEnded,
      invariantChecks: this.oracle.checks,
      violation,
    };
  }

  private boundary: Promise<false> | null = null;

  /**
   * One pending macrotask shared by every step: it fires only when the loop yields — at a
   * progress pause, or because a step is stuck — so a step that settles first costs nothing.
   */
  private macrotaskBoundary(): Promise<false> {
    this.boundary ??= this.host.macrotask().then(() => {
      this.boundary = null;
      return false as const;
    });
    return this.boundary;
  }

  private describe(found: { invariant: InvariantName; message: string }): SimViolation {
    this.logLine(`VIOLATION ${found.invariant}: ${found.message}`);
    return {
      invariant: found.invariant,
      statement: INVARIANTS[found.invariant],
      message: found.message,
      step: this.steps,
      at: stamp(this.nowMs()),
      trace: this.events.tail(),
      replay: replayCommand(this.options),
    };
  }
}

/** Runs one simulation to its end or its first violation. */
export function runSimulation(
  options: SimOptions,
  host: SimulationHost,
  hooks: SimulationHooks = {},
): Promise<SimReport> {
  return new Simulation(options, host, hooks).run();
}
