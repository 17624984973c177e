import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import { createRedisClient } from '../../../src/adapters/redis/redis-clients.js';
import type { SocketOf } from '../../../src/application/ports/presence-store.js';

export const ORG = 'o-1';

export const teacherSocket = (userId: string, sid: string, orgId = ORG): SocketOf => ({
  identity: { userId, orgId, role: 'teacher', kind: 'teacher_app' },
  sid,
});

export const studentSocket = (userId: string, sid: string, orgId = ORG): SocketOf => ({
  identity: { userId, orgId, role: 'student', kind: 'student_web' },
  sid,
});

/** A key prefix no other test file or run shares. */
export const uniquePrefix = (): string => `test-redis-${randomUUID()}:`;

export const quietClient = (url: string, name = 'classroom-test'): Redis =>
  createRedisClient(url, { name, logger: pino({ level: 'silent' }) });

/** Deletes every key under `prefix` (all keys when it is empty, on a private server). */
export async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
}

/** The names of the commands `redis` sends while `work` runs, and what `work` resolved to. */
export async function commandsSent<T>(
  redis: Redis,
  work: () => Promise<T>,
): Promise<{ readonly sent: string[]; readonly result: T }> {
  const sent: string[] = [];
  const sendCommand = redis.sendCommand.bind(redis);
  redis.sendCommand = (command, stream) => {
    sent.push(command.name);
    return sendCommand(command, stream);
  };
  try {
    return { sent, result: await work() };
  } finally {
    redis.sendCommand = sendCommand;
  }
}
