import { SequentialIdSource } from '../../sim/sequential-id-source.js';
import { VirtualClock } from '../../sim/virtual-clock.js';
import { DEMO, demoSeed } from '../../src/adapters/in-memory/demo-data.js';
import { InMemoryAnalytics } from '../../src/adapters/in-memory/in-memory-analytics.js';
import {
  InMemoryLessonRepository,
  type LessonSeed,
} from '../../src/adapters/in-memory/in-memory-lesson-repository.js';
import { InMemoryNotifier } from '../../src/adapters/in-memory/in-memory-notifier.js';
import { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import { InMemorySessionExpiryFeed } from '../../src/adapters/in-memory/in-memory-session-expiry-feed.js';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import type { LessonRepository } from '../../src/application/ports/lesson-repository.js';
import type { SocketOf, TeacherPresence } from '../../src/application/ports/presence-store.js';
import type { Timings } from '../../src/application/settings.js';
import type { Handshake } from '../../src/application/use-cases/connect-client.js';
import { buildContainer, resolve, type Services } from '../../src/composition-root.js';
import type { Role } from '../../src/domain/clients.js';
import type { Id } from '../../src/domain/ids.js';

/**
 * The service wired as in production, on in-memory adapters and a virtual clock, with the steps
 * the socket gateway takes around each use case. Tokens are real: signed with a test secret and
 * checked by the real JoseTokenVerifier (which reads the real clock for `exp`).
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

export function token(
  user: Pick<User, 'userId' | 'orgId' | 'role'>,
  { secret = SECRET, ttlS = 600, ageS = 0 } = {},
): Promise<string> {
  return signAccessToken({
    secret,
    sub: user.userId,
    orgId: user.orgId,
    role: user.role,
    ttlS,
    nowS: Math.floor(Date.now() / 1000) - ageS,
  });
}

export function classroom(
  options: { seed?: LessonSeed; timings?: Partial<Timings>; lessons?: LessonRepository } = {},
) {
  const clock = new VirtualClock();
  const store = new InMemoryPresenceStore(clock);
  // The node's link, so that a test can cut it (`setUp(false)`); `store` is the shared state.
  const presence = store.link();
  const expiryFeed = new InMemorySessionExpiryFeed(store);
  const database = new InMemoryLessonRepository(options.seed ?? demoSeed());
  const forcedOut: string[] = [];
  const notifier = new InMemoryNotifier({ disconnect: (sid) => forcedOut.push(sid) });
  const analytics = new InMemoryAnalytics();
  const services = buildContainer({
    jwt: { secret: SECRET },
    timings: options.timings,
    overrides: {
      clock,
      ids: new SequentialIdSource('insert'),
      presence,
      expiryFeed,
      lessons: options.lessons ?? database,
      notifier,
      analytics,
    },
  });
  const use = <K extends keyof Services>(key: K): Services[K] => resolve(services, key);

  /** The gateway's handshake: the socket exists, ConnectClient decides, a refusal drops it. */
  async function handshake(sid: string, fields: Handshake) {
    notifier.connect(sid);
    const result = await use('connectClient').execute({ sid, handshake: fields });
    if (!result.ok) notifier.disconnect(sid);
    return result;
  }

  /** Session epochs of the connected TeacherApps, by sid, as the gateway keeps them. */
  const epochs = new Map<string, number>();

  async function connect(sid: string, user: User): Promise<SocketOf> {
    const result = await handshake(sid, {
      role: user.role,
      orgId: user.orgId,
      productType: user.productType,
      token: await token(user),
    });
    if (!result.ok) throw new Error(`${user.userId} was refused: ${result.error.code}`);
    if (result.value.epoch !== null) epochs.set(sid, result.value.epoch);
    return result.value.socket;
  }

  /** A connected TeacherApp as RefreshPresence takes it. */
  function teacherPresence(socket: SocketOf): TeacherPresence {
    const epoch = epochs.get(socket.sid);
    if (epoch === undefined) throw new Error(`${socket.sid} is not a connected TeacherApp`);
    return { socket, epoch };
  }

  /** The gateway's disconnect: the transport leaves the rooms, then DisconnectClient runs. */
  function disconnect(socket: SocketOf, loggedOut = false) {
    notifier.disconnect(socket.sid);
    return use('disconnectClient').execute({ socket, loggedOut });
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
    store,
    presence,
    expiryFeed,
    database,
    notifier,
    analytics,
    forcedOut,
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
