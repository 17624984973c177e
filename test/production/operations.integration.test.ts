import type { Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../adapters/mikro-orm/own-postgres.js';
import { FakeMixpanel } from '../adapters/mixpanel/fake-mixpanel.js';
import { disconnection } from '../adapters/socket-io/classroom-harness.js';
import { runClassroom } from '../cli/cli-process.js';
import { canStartOwnRedis, hasPostgres, hasRedis, POSTGRES_URL } from '../support/services.js';
import { Deployment, ORG, readiness, useOwnRedis } from './deployment.js';
import { FailoverProxy } from './failover-proxy.js';

describe.runIf(hasPostgres && canStartOwnRedis())('/readyz of a production node', () => {
  const own = useOwnRedis();

  it('answers 200 with Redis, its expiry notifications and the database checked', async () => {
    const node = await own.deployment.startNode();
    expect(await readiness(node)).toEqual({
      status: 200,
      body: {
        status: 'ready',
        checks: [
          { name: 'redis', ok: true },
          { name: 'expiry_notifications', ok: true, detail: 'on' },
          { name: 'database', ok: true },
        ],
      },
    });
  });

  it('reports expiry notifications switched off on the server, still ready: the sweep ends sessions', async () => {
    const node = await own.deployment.startNode();
    await own.deployment.redis.config('SET', 'notify-keyspace-events', '');
    try {
      const { status, body } = await readiness(node);
      expect(status).toBe(200);
      expect(body.checks).toContainEqual({
        name: 'expiry_notifications',
        ok: true,
        detail: expect.stringMatching(/^off: .*notify-keyspace-events/),
      });
    } finally {
      await own.deployment.redis.config('SET', 'notify-keyspace-events', 'Ex');
    }
  });

  it('answers 503 naming Redis and the database when neither answers', async () => {
    const [redisPort, postgresPort] = [await closedPort(), await closedPort()];
    const nowhere = new URL(POSTGRES_URL);
    nowhere.port = String(postgresPort);
    const node = await own.deployment.startNode({
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      DATABASE_URL: nowhere.toString(),
    });
    const { status, body } = await readiness(node);
    expect(status).toBe(503);
    expect(body).toMatchObject({ status: 'not_ready', failed: ['redis', 'database'] });
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
  });
});

describe.runIf(hasPostgres && canStartOwnRedis())(
  '/readyz of a production node whose Redis refuses CONFIG',
  () => {
    const own = useOwnRedis(['--rename-command', 'CONFIG', '']);

    it('stays ready and says why expiry notifications are off', async () => {
      const node = await own.deployment.startNode();
      const { status, body } = await readiness(node);
      expect(status).toBe(200);
      expect(body.checks).toContainEqual({
        name: 'expiry_notifications',
        ok: true,
        detail: expect.stringMatching(/^off: Redis refused CONFIG/),
      });
    });
  },
);

describe.runIf(hasRedis && hasPostgres)('SIGTERM on a production node of two', () => {
  let deployment: Deployment;
  let mixpanel: FakeMixpanel;
  let proxy: FailoverProxy | undefined;

  beforeAll(async () => {
    mixpanel = await new FakeMixpanel().start();
    deployment = await Deployment.create();
  });

  afterEach(() => proxy?.stop());

  afterAll(async () => {
    await deployment?.destroy();
    await mixpanel?.stop();
  });

  it('flushes analytics, stops, and lets its clients reconnect to the other node', async () => {
    const env = {
      MIXPANEL_TOKEN: 'mixpanel-test-token',
      MIXPANEL_HOST: `http://${mixpanel.host}`,
      // The teacher is back long before the session could end.
      DISCONNECT_GRACE_S: '60',
    };
    const [first, second] = await Promise.all([
      deployment.startChild(env),
      deployment.startChild(env),
    ]);
    proxy = await FailoverProxy.start([first.url, second.url]);
    const teacherId = deployment.unique('t');
    const lessonId = await deployment.addLesson(teacherId);
    const teacher = await deployment.teacher({ url: proxy.url }, teacherId, {
      reconnection: true,
      websocket: true,
    });
    await teacher.join(lessonId);
    const studentId = deployment.unique('s');
    const student = await deployment.student(first, studentId);
    await student.join(lessonId);
    const studentDropped = disconnection(student.socket);
    const teacherBack = reconnected(teacher.socket);

    first.serving.child.kill('SIGTERM');
    expect(await first.serving.exited).toEqual({ code: 0, signal: null });

    // Sent before the process exited: the queue was flushed on the way out.
    const disconnects = mixpanel.events.filter(({ event }) => event === 'disconnect');
    expect(disconnects.map(({ properties }) => properties.distinct_id).sort()).toEqual(
      [studentId, teacherId].sort(),
    );
    // Dropped as by a lost connection, so that it reconnects (the OS may call it a transport
    // close or a transport error); a server-side disconnect would keep it away.
    expect(await studentDropped).not.toBe('io server disconnect');
    await expect(fetch(`${first.url}/healthz`)).rejects.toThrow();

    await teacherBack;
    expect(await deployment.redis.hgetall(deployment.key(`lesson_teacher_${lessonId}`))).toEqual({
      [teacherId]: teacher.socket.id,
    });
    await expect
      .poll(() => mixpanel.events.filter(({ event }) => event === 'reconnect'), { timeout: 5_000 })
      .toEqual([
        {
          event: 'reconnect',
          properties: expect.objectContaining({ distinct_id: teacherId, lesson_id: lessonId }),
        },
      ]);
    expect((await deployment.lessonRow(lessonId)).status).toBe('active');
    expect(
      await deployment.redis.hget(deployment.key(`alive:org_${ORG}_user_${teacherId}`), 'state'),
    ).toBe('connect');
  });
});

describe('classroom serve in production mode', () => {
  it('exits 2 naming AUTH_JWT_SECRET when it is missing', async () => {
    const { code, stdout, stderr } = await runClassroom(['serve'], {
      REDIS_URL: 'redis://127.0.0.1:6379',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/classroom',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toEqual([expect.stringMatching(/^AUTH_JWT_SECRET /)]);
  });
});

/** Resolves when the socket is connected again after its manager reconnected. */
function reconnected(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once('connect', () => resolve()));
}
