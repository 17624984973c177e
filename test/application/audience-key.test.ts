import { describe, expect, it } from 'vitest';
import { type Audience, audienceKey } from '../../src/application/ports/realtime-notifier.js';

describe('audienceKey', () => {
  it('gives an org and a lesson with the same id different rooms', () => {
    const audiences: Audience[] = [
      { kind: 'org_managers', orgId: '7' },
      { kind: 'lesson', lessonId: '7' },
      { kind: 'lesson_teachers', lessonId: '7' },
      { kind: 'teacher_apps', teacher: { orgId: '7', userId: '7' } },
    ];
    expect(new Set(audiences.map(audienceKey)).size).toBe(audiences.length);
  });

  it('keeps a teacher room apart from an org and user whose ids run together', () => {
    expect(audienceKey({ kind: 'teacher_apps', teacher: { orgId: 'a-b', userId: 'c' } })).not.toBe(
      audienceKey({ kind: 'teacher_apps', teacher: { orgId: 'a', userId: 'b-c' } }),
    );
  });
});
