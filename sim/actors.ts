import type { ServerEvent } from '../src/application/ports/realtime-notifier.js';
import type { Id } from '../src/domain/ids.js';
import type { Lesson } from '../src/domain/lesson.js';
import { Client, type ClientHost, type ClientListener, type ConnectOutcome } from './client.js';
import type { Prng } from './prng.js';
import { type Org, type School, type SimUser, SLOT_MS } from './school.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** What actors need on top of a client's host: the school and the timeline. */
export interface ActorHost extends ClientHost {
  readonly school: School;
  /** Whether some teachers use a second device now and then (the two-devices fault). */
  readonly twoDevices: boolean;
  /** Schedules at a time since the start of the run. */
  at(atMs: number, kind: string, run: () => Promise<void> | void): void;
}

/**
 * Behaviour shared by every actor: a user of an org with one app (a Client), a private random
 * stream, and the wish to be online, which decides whether a lost connection is re-established.
 */
abstract class Actor implements ClientListener {
  protected readonly client: Client;
  protected wantsOnline = false;

  constructor(
    protected readonly host: ActorHost,
    protected readonly user: SimUser,
    protected readonly prng: Prng,
    protected readonly org: Org,
  ) {
    this.client = new Client(host, user, host.school.tokenOf(user), prng, this);
  }

  abstract start(): void;

  onEvent(_event: ServerEvent): void {}

  onLost(reason: 'forced' | 'crash'): void {
    if (!this.wantsOnline) return;
    this.host.after(this.lostForMs(reason), 'reconnect', () => this.comeOnline());
  }

  /**
   * Most of a crashed node's clients reconnect within seconds, but some stay away longer than
   * PRESENCE_TTL_S, so that a crash also ends sessions; a forced-out user tries again later.
   */
  private lostForMs(reason: 'forced' | 'crash'): number {
    if (reason === 'forced') return this.prng.between(30 * SECOND, 7 * MINUTE);
    return this.prng.chance(0.6)
      ? this.prng.between(SECOND, 30 * SECOND)
      : this.prng.between(70 * SECOND, 4 * MINUTE);
  }

  /** Connects (retrying while no node is up or the service is unavailable), then `settle()`. */
  protected async comeOnline(): Promise<void> {
    if (!this.wantsOnline) return;
    // Logging in again takes a new connection: the app lets the logged-out one go first.
    if (this.client.loggedOut) await this.client.close();
    if (this.client.connected) {
      await this.settle(null);
      return;
    }
    const outcome: ConnectOutcome = await this.client.connect();
    if (outcome === 'already') return;
    if (outcome !== 'no-node' && outcome.ok) {
      this.networkMayDrop();
      await this.settle(outcome.value.lessonId);
      return;
    }
    const retryAfterS = outcome === 'no-node' ? undefined : outcome.error.retryAfterS;
    const delayMs =
      retryAfterS === undefined
        ? this.prng.between(5 * SECOND, 15 * SECOND)
        : retryAfterS * SECOND + this.prng.between(0, 5 * SECOND);
    this.host.after(delayMs, 'reconnect', () => this.comeOnline());
  }

  /** The app is connected: go about the period. `lessonId`: where a reconnect put it back. */
  protected abstract settle(lessonId: Id | null): Promise<void>;

  /** How long, on average, this kind of client stays connected before its network drops. */
  protected abstract readonly meanNetworkUpMs: number;

  /** How long the network stays down before the app reconnects. */
  protected networkDownMs(): number {
    return this.prng.between(2 * SECOND, 90 * SECOND);
  }

  private networkMayDrop(): void {
    const generation = this.client.generation;
    this.host.after(this.prng.exponential(this.meanNetworkUpMs), 'network_loss', async () => {
      if (this.client.generation !== generation) return;
      const downMs = this.wantsOnline ? this.networkDownMs() : null;
      await this.client.loseNetwork(downMs);
      if (downMs !== null) this.host.after(downMs, 'reconnect', () => this.comeOnline());
    });
  }

  /** Runs `action` after `delayMs` if the app is still on the same connection. */
  protected later(delayMs: number, kind: string, action: () => Promise<unknown>): void {
    const generation = this.client.generation;
    this.host.after(delayMs, kind, async () => {
      if (this.client.generation === generation) await action();
    });
  }
}

/**
 * A teacher's day: one lesson per period. Arrives in the first minutes of each period and joins
 * that period's lesson; loses the network now and then (usually back within a minute, sometimes
 * after longer than the grace period, which ends the session and the lesson); at the end of a
 * period stays for the next one, closes the app (the session ends after the grace period) or
 * logs out; after a force_logout tries again and waits out the cooldown.
 */
export class TeacherActor extends Actor {
  protected readonly meanNetworkUpMs = HOUR;
  private slot = -1;
  /**
   * A second TeacherApp of the same teacher (a tablet beside the laptop), with the two-devices
   * fault: connected for part of some periods, then closed or dropped, never reconnected. The
   * teacher is online while either is connected.
   */
  private readonly tablet: Client | null;

  constructor(host: ActorHost, user: SimUser, prng: Prng, org: Org) {
    super(host, user, prng, org);
    this.tablet =
      host.twoDevices && prng.chance(0.5)
        ? new Client(host, user, host.school.tokenOf(user), prng.fork(), {})
        : null;
  }

  start(): void {
    this.host.at(this.prng.between(0, 5 * MINUTE), 'teacher_arrives', () => this.beginSlot(0));
  }

  private lesson(): Lesson | undefined {
    return this.org.lessons[this.slot]?.find((lesson) => lesson.teacherId === this.user.userId);
  }

  private async beginSlot(slot: number): Promise<void> {
    this.slot = slot;
    this.wantsOnline = true;
    if (slot + 1 < this.host.school.slots) {
      const nextMs = (slot + 1) * SLOT_MS + this.prng.between(0, 5 * MINUTE);
      this.host.at(nextMs, 'teacher_arrives', () => this.beginSlot(slot + 1));
    }
    const endMs = slot * SLOT_MS + this.prng.between(48 * MINUTE, 58 * MINUTE);
    this.host.at(endMs, 'teacher_period_ends', () => this.endSlot(slot));
    if (this.tablet !== null && this.prng.chance(0.6)) {
      const tablet = this.tablet;
      this.host.after(this.prng.between(MINUTE, 58 * MINUTE), 'tablet_connects', () =>
        this.useTablet(tablet),
      );
    }
    await this.comeOnline();
  }

  /**
   * The tablet connects (logging in again if it was logged out), and is closed or loses its
   * network after `minutes` (a range).
   */
  private async useTablet(tablet: Client, minutes: [number, number] = [2, 40]): Promise<void> {
    if (tablet.loggedOut) await tablet.close();
    const outcome = await tablet.connect();
    if (outcome === 'no-node' || outcome === 'already' || !outcome.ok) return;
    const generation = tablet.generation;
    const leave = this.prng.chance(0.5) ? 'tablet_closes' : 'tablet_loses_network';
    this.host.after(
      this.prng.between(minutes[0] * MINUTE, minutes[1] * MINUTE),
      leave,
      async () => {
        if (tablet.generation !== generation) return;
        await (leave === 'tablet_closes' ? tablet.close() : tablet.loseNetwork(null));
      },
    );
  }

  protected async settle(lessonId: Id | null): Promise<void> {
    const lesson = this.lesson();
    if (lesson === undefined || lesson.id === lessonId) return;
    const answer = await this.client.join(lesson.id);
    if (answer?.ok === false && answer.error.code === 'unavailable') {
      this.later(this.prng.between(5 * SECOND, 20 * SECOND), 'teacher_rejoins', () =>
        this.settle(null),
      );
    }
  }

  protected override networkDownMs(): number {
    // One drop in five outlasts DISCONNECT_GRACE_S: the session and its lessons end.
    return this.prng.chance(0.8)
      ? this.prng.between(2 * SECOND, 60 * SECOND)
      : this.prng.between(6 * MINUTE, 10 * MINUTE);
  }

  private async endSlot(slot: number): Promise<void> {
    if (this.slot !== slot) return;
    const last = slot === this.host.school.slots - 1;
    const roll = this.prng.float();
    if (!last && roll < 0.6) return;
    this.wantsOnline = false;
    if (roll < (last ? 0.5 : 0.85)) {
      await this.client.close();
      return;
    }
    await this.client.logout();
    // The app may stay open, logged out, into the next period (until the teacher logs in again).
    this.later(this.prng.between(MINUTE, 20 * MINUTE), 'teacher_closes_app', () =>
      this.client.close(),
    );
    // A teacher with a tablet then logs in on it for a few minutes (to check the timetable, say)
    // while the laptop's logged-out app is still open: that app must not keep the session alive.
    if (this.tablet !== null) {
      const tablet = this.tablet;
      this.host.after(this.prng.between(10 * SECOND, MINUTE), 'tablet_connects', () =>
        this.useTablet(tablet, [1, 10]),
      );
    }
  }
}

/**
 * A student's day: attends most periods, joining one of its org's lessons of the period at
 * random (so some lessons are fuller than their seats); picks a seat — usually one the join
 * showed free, sometimes any number, which races with classmates — and tries again when it is
 * taken; now and then moves seats; leaves when the lesson ends or the period does. Rarely asks
 * for a lesson of another org, which must look like no lesson at all.
 */
export class StudentActor extends Actor {
  protected readonly meanNetworkUpMs = 4 * HOUR;
  private slot = -1;
  private lesson: Lesson | null = null;
  /** The seat map as this student last saw it: the join's answer and its own claims since. */
  private seats: Record<string, string> = {};
  private attempts = 0;

  start(): void {
    this.host.at(this.arrivalMs(0), 'student_arrives', () => this.beginSlot(0));
  }

  private arrivalMs(slot: number): number {
    return slot * SLOT_MS + this.prng.between(0, 10 * MINUTE);
  }

  private async beginSlot(slot: number): Promise<void> {
    this.slot = slot;
    this.lesson = null;
    if (slot + 1 < this.host.school.slots) {
      this.host.at(this.arrivalMs(slot + 1), 'student_arrives', () => this.beginSlot(slot + 1));
    }
    if (!this.prng.chance(0.85)) {
      this.wantsOnline = false;
      if (this.prng.chance(0.5)) await this.client.close();
      return;
    }
    this.wantsOnline = true;
    const lessons = this.org.lessons[slot] ?? [];
    if (lessons.length === 0) return;
    this.lesson = this.prng.pick(lessons);
    this.attempts = 0;
    const endMs = slot * SLOT_MS + this.prng.between(50 * MINUTE, 59 * MINUTE);
    this.host.at(endMs, 'student_period_ends', () => this.endSlot(slot));
    await this.comeOnline();
  }

  protected async settle(lessonId: Id | null): Promise<void> {
    const lesson = this.lesson;
    if (lesson === null) return;
    if (this.prng.chance(0.03)) await this.probeAnotherOrg();
    if (lesson.id === lessonId) {
      this.later(this.prng.between(SECOND, 20 * SECOND), 'student_picks_seat', () =>
        this.pickSeat(),
      );
      return;
    }
    const answer = await this.client.join(lesson.id);
    if (answer === null || this.lesson !== lesson) return;
    if (answer.ok) {
      this.seats = { ...answer.value.seats };
      this.later(this.prng.between(SECOND, 20 * SECOND), 'student_picks_seat', () =>
        this.pickSeat(),
      );
    } else if (answer.error.code === 'lesson_ended' && this.attempts < 2) {
      this.attempts += 1;
      this.lesson = this.prng.pick(this.org.lessons[this.slot] ?? [lesson]);
      this.later(this.prng.between(SECOND, 5 * SECOND), 'student_joins', () => this.settle(null));
    } else if (answer.error.code === 'unavailable') {
      this.later(this.prng.between(5 * SECOND, 20 * SECOND), 'student_joins', () =>
        this.settle(null),
      );
    }
  }

  private async probeAnotherOrg(): Promise<void> {
    const others = this.host.school.orgs.filter((org) => org.orgId !== this.org.orgId);
    if (others.length === 0) return;
    const foreign = this.prng.pick(this.prng.pick(others).lessons.flat());
    await this.client.join(foreign.id);
  }

  private async pickSeat(): Promise<void> {
    const lesson = this.lesson;
    if (lesson === null) return;
    const free = Object.keys(this.seats).filter((seat) => this.seats[seat] === '');
    const seat =
      free.length > 0 && this.prng.chance(0.8)
        ? this.prng.pick(free)
        : String(this.prng.between(1, lesson.seatCount + 1));
    const answer = await this.client.setStudentName(lesson.id, seat);
    if (answer === null || this.lesson !== lesson) return;
    this.attempts += 1;
    const retry = (kind: string, action: () => Promise<void>) =>
      this.later(this.prng.between(SECOND, 10 * SECOND), kind, action);
    if (answer.ok) {
      for (const [other, holder] of Object.entries(this.seats)) {
        if (holder === this.user.userId) this.seats[other] = '';
      }
      this.seats[seat] = this.user.userId;
      if (this.prng.chance(0.15)) {
        this.later(this.prng.between(5 * MINUTE, 30 * MINUTE), 'student_moves', () =>
          this.pickSeat(),
        );
      }
    } else if (this.attempts > 4) {
      return;
    } else if (answer.error.code === 'seat_taken') {
      this.seats[seat] = 'someone';
      retry('student_picks_seat', () => this.pickSeat());
    } else if (answer.error.code === 'not_in_lesson') {
      // The store restarted and forgot who joined: join again, then pick.
      retry('student_joins', () => this.settle(null));
    } else {
      retry('student_picks_seat', () => this.pickSeat());
    }
  }

  override onEvent(event: ServerEvent): void {
    if (event.name !== 'lesson_ended' || event.payload.lesson_id !== this.lesson?.id) return;
    this.lesson = null;
    this.wantsOnline = false;
    if (this.prng.chance(0.5)) {
      this.later(this.prng.between(SECOND, 30 * SECOND), 'student_leaves', () =>
        this.client.close(),
      );
    }
  }

  private async endSlot(slot: number): Promise<void> {
    if (this.slot !== slot || !this.prng.chance(0.5)) return;
    this.wantsOnline = false;
    await this.client.close();
  }
}

/**
 * A ManagerWeb: watches its org's teachers come and go and, now and then, forces one out —
 * usually one it believes online. The org admin stays all day, may force out any teacher of its
 * org, and probes other tenants. The org's first teacher drops in on ManagerWeb too, where it may
 * only force itself out.
 */
export class ManagerActor extends Actor {
  protected readonly meanNetworkUpMs = 4 * HOUR;
  /** Teachers this manager heard come online and not leave. */
  private readonly believedOnline = new Set<Id>();

  private get isAdmin(): boolean {
    return this.user.role === 'admin';
  }

  start(): void {
    const firstMs = this.isAdmin ? this.prng.between(0, MINUTE) : this.prng.between(0, 2 * HOUR);
    this.host.at(firstMs, 'manager_arrives', () => this.arrive());
  }

  private async arrive(): Promise<void> {
    this.wantsOnline = true;
    await this.comeOnline();
    if (this.isAdmin) return;
    this.later(this.prng.between(10 * MINUTE, HOUR), 'manager_leaves', async () => {
      this.wantsOnline = false;
      await this.client.close();
      this.host.after(this.prng.between(30 * MINUTE, 3 * HOUR), 'manager_arrives', () =>
        this.arrive(),
      );
    });
  }

  protected async settle(): Promise<void> {
    this.believedOnline.clear();
    this.every(this.isAdmin ? 90 * MINUTE : 3 * HOUR, 'manager_forces', () => this.force());
    if (this.isAdmin && this.host.school.orgs.length > 1) {
      this.every(45 * MINUTE, 'manager_probes', () => this.probeAnotherOrg());
    }
  }

  /** Repeats `action` at random intervals of the given mean while on this connection. */
  private every(meanMs: number, kind: string, action: () => Promise<void>): void {
    this.later(this.prng.exponential(meanMs), kind, async () => {
      await action();
      this.every(meanMs, kind, action);
    });
  }

  private async force(): Promise<void> {
    const teachers = this.org.teachers.map((teacher) => teacher.userId);
    const known = [...this.believedOnline];
    let target: Id;
    if (!this.isAdmin) {
      // A teacher manager may only force itself out; one attempt in five names a colleague.
      target = this.prng.chance(0.8) ? this.user.userId : this.prng.pick(teachers);
    } else if (known.length > 0 && this.prng.chance(0.85)) {
      target = this.prng.pick(known);
    } else {
      target = this.prng.pick(teachers);
    }
    await this.client.forceLogout({ orgId: this.org.orgId, userId: target });
  }

  /**
   * An admin reaching across tenants: a teacher id of another org under its own org (which must
   * reach nobody), or another org outright (`forbidden`).
   */
  private async probeAnotherOrg(): Promise<void> {
    const foreign = this.prng.pick(this.host.school.orgs.filter((org) => org !== this.org));
    const stranger = this.prng.pick(foreign.teachers).userId;
    await this.client.forceLogout(
      this.prng.chance(0.7)
        ? { orgId: this.org.orgId, userId: stranger }
        : { orgId: foreign.orgId, userId: this.prng.pick(this.org.teachers).userId },
    );
  }

  override onEvent(event: ServerEvent): void {
    if (event.name === 'teacher_connect') this.believedOnline.add(event.payload.user_id);
    else if (event.name === 'teacher_disconnect' || event.name === 'logout') {
      this.believedOnline.delete(event.payload.user_id);
    }
  }
}

/** Every actor of the school, each with its own random stream drawn from `prng` in a fixed order. */
export function castActors(host: ActorHost, prng: Prng): Actor[] {
  const actors: Actor[] = [];
  for (const org of host.school.orgs) {
    for (const user of org.teachers) actors.push(new TeacherActor(host, user, prng.fork(), org));
    for (const user of org.students) actors.push(new StudentActor(host, user, prng.fork(), org));
    for (const user of org.managers) actors.push(new ManagerActor(host, user, prng.fork(), org));
  }
  return actors;
}
