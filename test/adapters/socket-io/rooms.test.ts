import { describe, expect, it } from 'vitest';
import { roomOf } from '../../../src/adapters/socket-io/rooms.js';
import type { Audience } from '../../../src/application/ports/realtime-notifier.js';

describe('roomOf', () => {
  it('gives an org and a lesson with the same id different rooms', () => {
    const audiences: Audience[] = [
      { kind: 'org_managers', orgId: '7' },
      { kind: 'lesson', lessonId: '7' },
      { kind: 'lesson_teachers', lessonId: '7' },
      { kind: 'teacher_apps', teacher: { orgId: '7', userId: '7' } },
    ];
    expect(new Set(audiences.map(roomOf)).size).toBe(audiences.length);
  });

  it('keeps a teacher room apart from an org and user whose ids run together', () => {
    expect(roomOf({ kind: 'teacher_apps', teacher: { orgId: 'a-b', userId: 'c' } })).not.toBe(
      roomOf({ kind: 'teacher_apps', teacher: { orgId: 'a', userId: 'b-c' } }),
    );
  });
});
