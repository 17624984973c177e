/**
 * How many commands and round trips each PresenceStore operation costs on real Redis, measured
 * from outside the adapter: MONITOR on a separate connection counts what Redis received from the
 * store's connection (commands run inside a Lua script are reported as `lua` and not counted),
 * and a wrapper around the store's socket counts the writes, one per round trip (a pipeline is
 * written at once). Fails when a client event's operation costs more than one round trip.
 *
 *   npx tsx bench/redis-round-trips.ts        (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisClient } from '../src/adapters/redis/redis-clients.js';
import { RedisPresenceStore } from '../src/adapters/redis/redis-presence-store.js';
import type { PresenceStore, SocketOf } from '../src/application/ports/presence-store.js';
import { initialSeatMap } from '../src/domain/seat-map.js';
import { epochAt } from '../src/domain/session.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const RESULTS_FILE = 'bench/results/redis-round-trips.md';
/** Operations a single client event performs, which must each be one round trip. */
const ONE_ROUND_TRIP = new Set(['connectTeacher', 'disconnectTeacher', 'joinLesson', 'claimSeat']);

const org = 'org-bench';
const teacher: SocketOf = {
  sid: 'sid-teacher',
  identity: { userId: 't-bench', orgId: org, role: 'teacher', kind: 'teacher_app' },
};
const student: SocketOf = {
  sid: 'sid-student',
  identity: { userId: 's-bench', orgId: org, role: 'student', kind: 'student_web' },
};
const otherTeachers: SocketOf[] = [1, 2].map((n) => ({
  sid: `sid-other-${n}`,
  identity: { userId: `t-other-${n}`, orgId: org, role: 'teacher', kind: 'teacher_app' },
}));
const reconnecting: SocketOf = { ...teacher, sid: 'sid-teacher-again' };
const teacherRef = { orgId: org, userId: 't-bench' };
const lessonId = 'lesson-bench';
const seats = initialSeatMap(30);
const t0 = Date.now();
/**
 * A fresh key prefix is a store with no continuity mark yet, which counts as one that lost its
 * data: a connect there is `unverified` (one round trip, nothing written) unless the database was
 * asked and holds no cooldown, as ConnectClient tells it after a loss.
 */
const teacherConnect = { presenceTtlS: 1, lessonTtlS: 60, noCooldownInDatabase: true } as const;

/** A lesson's life in order, so that every operation acts on state that makes it do its work. */
const scenario: [string, (store: PresenceStore) => Promise<unknown>][] = [
  [
    'connectTeacher',
    (store) => store.connectTeacher({ socket: teacher, nowMs: t0, ...teacherConnect }),
  ],
  [
    'joinLesson',
    (store) =>
      store.joinLesson({ socket: teacher, lessonId, seatCount: 30, lessonTtlS: 60, seats }),
  ],
  ['connectStudent', (store) => store.connectStudent({ socket: student, lessonTtlS: 60 })],
  [
    'joinLesson (student)',
    (store) =>
      store.joinLesson({ socket: student, lessonId, seatCount: 30, lessonTtlS: 60, seats }),
  ],
  ['claimSeat', (store) => store.claimSeat({ socket: student, lessonId, seatId: '7' })],
  [
    'revertSeatClaim',
    (store) =>
      store.revertSeatClaim({
        lessonId,
        studentId: 's-bench',
        seatId: '7',
        change: { alreadyHeld: false, releasedSeatId: null },
      }),
  ],
  [
    'undoJoinLesson',
    (store) => store.undoJoinLesson({ socket: student, lessonId, previousLessonId: null }),
  ],
  [
    'refreshTeachers (3 sockets)',
    (store) =>
      store.refreshTeachers({
        teachers: [teacher, ...otherTeachers].map((socket) => ({ socket, epoch: epochAt(t0) })),
        nowMs: t0 + 10,
        presenceTtlS: 1,
        lessonTtlS: 60,
      }),
  ],
  [
    'disconnectTeacher',
    (store) =>
      store.disconnectTeacher({ socket: teacher, nowMs: t0 + 20, graceS: 1, lessonTtlS: 60 }),
  ],
  ['isTeacherOnline', (store) => store.isTeacherOnline(teacherRef)],
  [
    'connectTeacher (reconnect into a lesson)',
    (store) => store.connectTeacher({ socket: reconnecting, nowMs: t0 + 30, ...teacherConnect }),
  ],
  ['disconnectStudent', (store) => store.disconnectStudent({ socket: student, lessonTtlS: 60 })],
  ['snapshot', (store) => store.snapshot(org)],
  ['startCooldown', (store) => store.startCooldown({ teacher: teacherRef, cooldownS: 60 })],
  ['cancelCooldown', (store) => store.cancelCooldown(teacherRef)],
  ['logoutTeacher', (store) => store.logoutTeacher({ orgId: org, userId: 't-other-1' })],
  ['dueSessionEnds', (store) => store.dueSessionEnds(t0 + 60_000, 100)],
  ['nextDueAtMs', (store) => store.nextDueAtMs()],
  [
    'settleExpiredSession',
    (store) =>
      store.settleExpiredSession({
        teacher: { orgId: org, userId: 't-other-2' },
        nowMs: t0 + 60_000,
        graceS: 1,
        leaseMs: 30_000,
      }),
  ],
  ['completeSessionEnd', (store) => store.completeSessionEnd(teacherRef, Math.floor(t0 / 1000))],
  ['checkContinuity', (store) => store.checkContinuity(null)],
  ['claimReconciliation', (store) => store.claimReconciliation(`bench:${t0}:1`, 1_000)],
  [
    'restoreSockets (3 sockets)',
    (store) =>
      store.restoreSockets({
        sockets: [teacher, ...otherTeachers].map((socket) => ({
          socket,
          epoch: epochAt(t0),
          lessonId,
        })),
        nowMs: t0 + 40,
        presenceTtlS: 1,
        lessonTtlS: 60,
      }),
  ],
  [
    'restoreSessions',
    (store) =>
      store.restoreSessions({
        teachers: [{ teacher: { orgId: org, userId: 't-other-3' }, lessonId }],
        nowMs: t0 + 50,
        graceS: 1,
      }),
  ],
  [
    'restoreCooldowns',
    (store) =>
      store.restoreCooldowns({
        cooldowns: [{ teacher: teacherRef, untilMs: t0 + 120_000 }],
        nowMs: t0 + 60,
        mark: 'a-run:a-generation:1',
      }),
  ],
];

interface Measure {
  readonly operation: string;
  readonly commands: string[];
  readonly writes: number;
}

async function main(): Promise<void> {
  const logger = pino({ level: 'warn' });
  const redis = createRedisClient(REDIS_URL, { name: 'classroom-bench-store', logger });
  const monitorClient = new Redis(REDIS_URL);
  const markers = new Redis(REDIS_URL);
  const [info] = await Promise.all([redis.client('INFO') as Promise<string>, markers.ping()]);
  const storeAddress = /\baddr=(\S+)/.exec(info)?.[1];
  if (storeAddress === undefined) throw new Error(`No addr in CLIENT INFO: ${info}`);
  const version = /redis_version:(\S+)/.exec(await markers.info('server'))?.[1] ?? 'unknown';

  let writes = 0;
  const write = redis.stream.write.bind(redis.stream) as (...args: unknown[]) => boolean;
  redis.stream.write = ((...args: unknown[]) => {
    writes++;
    return write(...args);
  }) as typeof redis.stream.write;

  const monitor = await monitorClient.monitor();
  let seen: string[] = [];
  let onMarker: ((marker: string) => void) | null = null;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === storeAddress) seen.push(String(args[0]).toLowerCase());
    else if (args[0]?.toLowerCase() === 'echo') onMarker?.(String(args[1]));
  });
  /** Everything Redis ran before the marker has reached the monitor once the marker has. */
  const drain = async (marker: string) => {
    const arrived = new Promise<void>((resolve) => {
      onMarker = (echoed) => {
        if (echoed === marker) resolve();
      };
    });
    await markers.echo(marker);
    await arrived;
  };

  const measure = async (store: PresenceStore): Promise<Measure[]> => {
    const measures: Measure[] = [];
    for (const [operation, run] of scenario) {
      await drain(`before ${operation}`);
      seen = [];
      writes = 0;
      await run(store);
      await drain(`after ${operation}`);
      measures.push({ operation, commands: seen, writes });
    }
    return measures;
  };

  const prefix = `bench-round-trips-${randomUUID()}:`;
  const forget = async () => {
    const keys = await markers.keys(`${prefix}*`);
    if (keys.length > 0) await markers.del(...keys);
  };
  try {
    const store = new RedisPresenceStore(redis, { keyPrefix: prefix });
    // The first run sends each script with EVAL; the second, from the same state, uses EVALSHA
    // as a running node does.
    const cold = await measure(store);
    await forget();
    const warm = await measure(store);
    report(cold, warm, version);
  } finally {
    await forget();
    monitor.disconnect();
    monitorClient.disconnect();
    markers.disconnect();
    redis.disconnect();
  }
}

function report(cold: Measure[], warm: Measure[], version: string): void {
  const rows = warm.map((measure, i) => {
    const first = cold[i] as Measure;
    const limit = ONE_ROUND_TRIP.has(measure.operation) ? '≤ 1' : '';
    const cells = [
      measure.operation,
      measure.writes,
      measure.commands.length,
      measure.commands.join(', '),
      first.commands.join(', '),
      limit,
    ];
    return `| ${cells.join(' | ')} |`;
  });
  const table = [
    '| operation | round trips | commands received | commands (warm) | commands (first call) ' +
      '| required |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  const over = warm.filter((m) => ONE_ROUND_TRIP.has(m.operation) && m.writes > 1);
  const verdict =
    over.length === 0
      ? 'Every client-event operation costs one round trip.'
      : `Over one round trip: ${over.map((m) => m.operation).join(', ')}.`;
  console.log(`${table}\n\n${verdict}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    RESULTS_FILE,
    `# Redis round trips per PresenceStore operation

Produced by \`npx tsx bench/redis-round-trips.ts\` on ${new Date().toISOString().slice(0, 10)}
against Redis ${version} at ${REDIS_URL}.

Round trips are the writes on the store's socket (a pipeline is one write); commands are what
MONITOR shows Redis received from that connection (the commands a Lua script runs are not
counted). "First call" is the first use of each script on a connection (EVAL with the script's
text); afterwards ioredis sends EVALSHA. The store's very first call also reads Redis' clock
(\`time\`), to set the deadline its scripts fence against. The batch methods
(\`refreshTeachers\`, \`restoreSockets\`, ...) send one script call per item, in one pipeline;
\`restoreCooldowns\` then marks the loss reconciled, in a second round trip that only follows once
every cooldown is back. Joins and seat claims made together share one script call (one here).
A TeacherApp disconnect is \`disconnectTeacher\` and, after the managers were told,
\`isTeacherOnline\` (the re-check that keeps their view in the store's order across nodes): two
round trips, the second off the state change's path. A connect whose user was in a lesson takes
two: the first call finds the lesson in the directory and writes nothing, the second runs with
that lesson's key among its KEYS (every key a script touches is declared, as Redis Cluster
requires).

${table}

${verdict}
`,
  );
  if (over.length > 0) process.exitCode = 1;
}

await main();
