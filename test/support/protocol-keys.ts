import type { InMemoryPresenceStore } from '../../src/adapters/in-memory/in-memory-presence-store.js';
import {
  aliveKey,
  cooldownKey,
  lessonStudentsKey,
  lessonTeachersKey,
  seatsKey,
} from '../../src/adapters/redis/keys.js';

/**
 * What the in-memory store holds, laid out as the Redis keys of PROTOCOL §7 would hold it: hashes
 * as objects, strings as text. The application and gateway tests state what a use case did in the
 * contract's words; the store itself knows no keys.
 */
export function protocolKeys(
  store: InMemoryPresenceStore,
): Record<string, string | Record<string, string>> {
  const { sessions, directory, lessons, cooldowns } = store.inspect();
  const keys: Record<string, string | Record<string, string>> = {};
  for (const { teacher, alive, loginTimeS, phase } of sessions) {
    if (!alive) continue;
    const state = phase === 'connected' ? 'connect' : 'disconnect';
    keys[aliveKey(teacher)] = { login_time: String(loginTimeS), state };
  }
  for (const [userId, { sid, role, orgId, lessonId }] of Object.entries(directory)) {
    const entry = { sid, client_id: userId, role, org_id: orgId };
    keys[userId] = JSON.stringify(lessonId === null ? entry : { ...entry, lesson_id: lessonId });
  }
  for (const [lessonId, { seats, teachers, students }] of Object.entries(lessons)) {
    if (seats !== null) keys[seatsKey(lessonId)] = seats;
    if (Object.keys(teachers).length > 0) keys[lessonTeachersKey(lessonId)] = { ...teachers };
    if (Object.keys(students).length > 0) keys[lessonStudentsKey(lessonId)] = { ...students };
  }
  for (const { teacher } of cooldowns) keys[cooldownKey(teacher)] = '1';
  return keys;
}
