import { describe, expect, it } from 'vitest';
import { InMemoryNotifier } from '../../../src/adapters/in-memory/in-memory-notifier.js';
import type { ServerEvent } from '../../../src/application/ports/realtime-notifier.js';

const ended: ServerEvent = { name: 'lesson_ended', payload: { lesson_id: '7' } };
const forced: ServerEvent = { name: 'force_logout', payload: { user_id: 't-1' } };
const teacher = { orgId: 'org-a', userId: 't-1' };

describe('InMemoryNotifier', () => {
  it('delivers an event to the members of its audience only', async () => {
    const notifier = new InMemoryNotifier();
    for (const sid of ['manager', 'student', 'teacher']) notifier.connect(sid);
    await notifier.join('manager', { kind: 'org_managers', orgId: '7' });
    await notifier.join('student', { kind: 'lesson', lessonId: '7' });
    await notifier.join('teacher', { kind: 'lesson', lessonId: '7' });
    await notifier.join('teacher', { kind: 'lesson_teachers', lessonId: '7' });
    await notifier.emit({ kind: 'lesson', lessonId: '7' }, ended);
    expect(notifier.takeDelivered()).toEqual([
      { sid: 'student', event: ended },
      { sid: 'teacher', event: ended },
    ]);
    await notifier.emit({ kind: 'lesson_teachers', lessonId: '7' }, ended);
    expect(notifier.takeDelivered().map(({ sid }) => sid)).toEqual(['teacher']);
  });

  it('keeps an org and a lesson with the same id apart', async () => {
    const notifier = new InMemoryNotifier();
    notifier.connect('manager');
    await notifier.join('manager', { kind: 'org_managers', orgId: '7' });
    expect(notifier.membersOf({ kind: 'lesson', lessonId: '7' })).toEqual([]);
    expect(notifier.membersOf({ kind: 'org_managers', orgId: '7' })).toEqual(['manager']);
  });

  it('takes a socket out of every room when it disconnects, and never puts it back', async () => {
    const notifier = new InMemoryNotifier();
    notifier.connect('s');
    await notifier.join('s', { kind: 'lesson', lessonId: 'l' });
    notifier.disconnect('s');
    await notifier.join('s', { kind: 'lesson', lessonId: 'l' });
    expect(notifier.isConnected('s')).toBe(false);
    expect(notifier.membersOf({ kind: 'lesson', lessonId: 'l' })).toEqual([]);
  });

  it('forces a teacher out of every TeacherApp socket and the directory one, once each', async () => {
    const disconnected: string[] = [];
    const notifier = new InMemoryNotifier({ disconnect: (sid) => disconnected.push(sid) });
    for (const sid of ['app-1', 'app-2', 'manager']) notifier.connect(sid);
    await notifier.join('app-1', { kind: 'teacher_apps', teacher });
    await notifier.join('manager', { kind: 'org_managers', orgId: 'org-a' });
    notifier.takeDelivered();
    expect(await notifier.forceOut(teacher, 'app-2', forced)).toBe(2);
    expect(notifier.takeDelivered()).toEqual([
      { sid: 'app-1', event: forced },
      { sid: 'app-2', event: forced },
    ]);
    expect(disconnected).toEqual(['app-1', 'app-2']);
    expect(notifier.isConnected('app-1')).toBe(false);
    expect(notifier.isConnected('manager')).toBe(true);
    expect(await notifier.forceOut(teacher, 'app-1', forced)).toBe(0);
  });

  it('counts a socket that is both in the room and named by the directory once', async () => {
    const notifier = new InMemoryNotifier();
    notifier.connect('app-1');
    await notifier.join('app-1', { kind: 'teacher_apps', teacher });
    expect(await notifier.forceOut(teacher, 'app-1', forced)).toBe(1);
  });

  it('tells its hook about each delivery and keeps only the most recent ones', async () => {
    const seen: string[] = [];
    const notifier = new InMemoryNotifier({ deliver: (sid) => seen.push(sid) }, 2);
    for (const sid of ['a', 'b', 'c']) {
      notifier.connect(sid);
      await notifier.join(sid, { kind: 'lesson', lessonId: 'l' });
    }
    await notifier.emit({ kind: 'lesson', lessonId: 'l' }, ended);
    expect(seen).toEqual(['a', 'b', 'c']);
    expect(notifier.delivered.map(({ sid }) => sid)).toEqual(['b', 'c']);
  });
});
