import { SequentialIdSource } from '../../sim/sequential-id-source.js';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { VirtualScheduler } from '../../sim/virtual-scheduler.js';
import { DEMO, demoSeed } from '../../src/adapters/in-memory/demo-data.js';
import { InMemoryAnalytics } from '../../src/adapters/in-memory/in-memory-analytics.js';
import { InMemoryLessonRepository } from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import {
  InMemoryNotifier,
  type NotifierLink,
} from '../../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import type { NodeObserver } from '../../src/application/node/classroom-node.js';
import type { RateLimit } from '../../src/application/node/token-bucket.js';
import type { LessonRepository } from '../../src/application/ports/lesson-repository.js';
import type { SocketOf, TeacherPresence } from '../../src/application/ports/presence-store.js';
import type { Timings } from '../../src/application/settings.js';
import type { Handshake } from '../../src/application/use-cases/connect-client.js';
import {
  buildNode,
  resolve,
  type Services,
  type UseCaseDecorators,
} from '../../src/composition-root.js';
import type { Role } from '../../src/domain/clients.js';
import type { Id } from '../../src/domain/ids.js';
import type { LessonSeed } from '../../src/domain/lesson.js';

/**
 * The service wired as in production, on in-memory adapters and virtual time: the real node admits
 * and disconnects sockets, and the use cases can be run one by one. Tokens are real: signed with a
 * test secret and checked by the real JoseTokenVerifier (which reads the real clock for `exp`).
 */
export const SECRET = 'application-tests-secret';
export const ORG = DEMO.orgId;
export const OTHER_ORG = 'other-org';

export interface User {
  readonly userId: Id;
  readonly orgId: Id;
  readonly role: Role;
  readonly productType?: 'manager';
}

export const ADA: User = { userId: 't-ada', orgId: ORG, role: 'teacher' };
export const GRACE: User = { userId: 't-grace', orgId: ORG, role: 'teacher' };
export const LINUS: User = { userId: 'm-linus', orgId: ORG, role: 'admin', productType: 'manager' };
/** Ada on ManagerWeb: a manager whose role is teacher. */
export const ADA_MANAGING: User = { ...ADA, productType: 'manager' };
export const OTHER_ADMIN: User = {
  userId: 'm-other',
  orgId: OTHER_ORG,
  role: 'admin',
  productType: 'manager',
};
export const student = (n: number): User => ({ userId: `s-${n}`, orgId: ORG, role: 'student' });

export const MATH = DEMO.lessons.math.id;
export const ART = DEMO.lessons.art.id;

/**
 * A signed token of `user`, issued `ageS` before `nowMs` (the real time unless given: the
 * harness's virtual clock stays months before it, so such tokens never run out in a test).
 */
export function token(
  user: Pick<User, 'userId' | 'orgId' | 'role'>,
  { secret = SECRET, ttlS = 600, ageS = 0, nowMs = Date.now() } = {},
): Promise<string> {
  return signAccessToken({
    secret,
    sub: user.userId,
    orgId: user.orgId,
    role: user.role,
    ttlS,
    nowS: Math.floor(nowMs / 1000) - ageS,
  });
}

export function classroom(
  options: {
    seed?: LessonSeed;
    timings?: Partial<Timings>;
    lessons?: LessonRepository;
    sweepIntervalS?: number;
    rateLimit?: RateLimit;
    observer?: NodeObserver;
    useCases?: UseCaseDecorators;
    /** The node's link to other nodes, for a node that is one of several. */
    link?: NotifierLink;
  } = {},
) {
  const clock = new VirtualClock();
  const scheduler = new VirtualScheduler(clock);
  const store = new InMemoryPresenceStore(clock, { bornWithItsDatabase: true });
  // The node's link, so that a test can cut it (`setUp(false)`); `store` is the shared state.
  const presence = store.link();
  // Ticked by the tests, so that they decide when expiries are heard.
  const expiryFeed = new InMemorySessionExpiryFeed(store);
  const database = new InMemoryLessonRepository(options.seed ?? demoSeed());
  const forcedOut: string[] = [];
  const notifier = new InMemoryNotifier({ disconnect: (sid) => forcedOut.push(sid) });
  const analytics = new InMemoryAnalytics();
  const services = buildNode({
    jwt: { secret: SECRET },
    timings: options.timings,
    sweepIntervalS: options.sweepIntervalS,
    rateLimit: options.rateLimit,
    observer: options.observer,
    useCases: options.useCases,
    adapters: {
      clock,
      scheduler,
      ids: new SequentialIdSource('insert'),
      presence: { store: presence, expiryFeed },
      lessons: options.lessons ?? database,
      notifier: options.link === undefined ? notifier : notifier.seenFrom(options.link),
      analytics,
    },
  });
  const use = <K extends keyof Services>(key: K): Services[K] => resolve(services, key);
  const node = use('node');

  /** Session epochs of the admitted TeacherApps, by sid, for RefreshPresence's input. */
  const epochs = new Map<string, number>();

  /**
   * A handshake through the node, as the gateway runs it: the transport knows the socket from its
   * first packet on, drops it when refused, and connects it when admitted.
   */
  async function handshake(sid: string, fields: Handshake) {
    notifier.connect(sid);
    const result = await node.admit(sid, fields);
    if (!result.ok) {
      notifier.disconnect(sid);
      return result;
    }
    if (result.value.epoch !== null) epochs.set(sid, result.value.epoch);
    node.connected(sid);
    // What connecting sets off (a manager's snapshot) has arrived before the test goes on.
    await node.idle();
    return result;
  }

  async function connect(sid: string, user: User): Promise<SocketOf> {
    const result = await handshake(sid, {
      role: user.role,
      orgId: user.orgId,
      productType: user.productType,
      token: await token(user),
    });
    if (!result.ok) throw new Error(`${user.userId} was refused: ${result.error.code}`);
    return result.value.socket;
  }

  /** A connected TeacherApp as RefreshPresence takes it. */
  function teacherPresence(socket: SocketOf): TeacherPresence {
    const epoch = epochs.get(socket.sid);
    if (epoch === undefined) throw new Error(`${socket.sid} is not a connected TeacherApp`);
    return { socket, epoch };
  }

  /** The transport lets the socket go, and the node handles its disconnect. */
  function disconnect(socket: SocketOf) {
    notifier.disconnect(socket.sid);
    return node.disconnect(socket.sid, 'transport close');
  }

  function join(socket: SocketOf, lessonId: Id) {
    const { userId, role } = socket.identity;
    return use('joinLesson').execute({ socket, userId, lessonId, role });
  }

  async function joined(sid: string, user: User, lessonId: Id): Promise<SocketOf> {
    const socket = await connect(sid, user);
    const result = await join(socket, lessonId);
    if (!result.ok) throw new Error(`${user.userId} could not join: ${result.error.code}`);
    return socket;
  }

  /** Deliveries since the last call, as [sid, event name, payload]. */
  function heard() {
    return notifier.takeDelivered().map(({ sid, event }) => [sid, event.name, event.payload]);
  }

  return {
    teacherPresence,
    clock,
    scheduler,
    store,
    presence,
    expiryFeed,
    database,
    notifier,
    analytics,
    forcedOut,
    node,
    use,
    handshake,
    connect,
    disconnect,
    join,
    joined,
    heard,
  };
}

export type Classroom = ReturnType<typeof classroom>;

export const aliveKey = (user: User) => `alive:org_${user.orgId}_user_${user.userId}`;
