import { describe, expect, it } from 'vitest';
import {
  EVENT_SCHEMAS,
  MAX_PAYLOAD_BYTES,
  parsePayload,
  readRequest,
} from '../../../src/adapters/socket-io/event-schemas.js';

const join = (payload: unknown) => parsePayload(EVENT_SCHEMAS.join_lesson, payload);
const seat = (payload: unknown) => parsePayload(EVENT_SCHEMAS.set_student_name, payload);
const invalid = { ok: false, error: { code: 'invalid_payload' } };

describe('event payload schemas', () => {
  it('accept a valid join_lesson and drop unknown fields', () => {
    expect(join({ user_id: 'u-1', lesson_id: 'l-1', role: 'student', extra: true })).toEqual({
      ok: true,
      value: { user_id: 'u-1', lesson_id: 'l-1', role: 'student' },
    });
  });

  it('turn JSON integer ids and seats into decimal strings', () => {
    expect(seat({ lesson_id: 7, display_name: '  Ada ', seat_id: 3, student_id: 42 })).toEqual({
      ok: true,
      value: { lesson_id: '7', display_name: 'Ada', seat_id: '3', student_id: '42' },
    });
  });

  it.each([
    ['an array', [{ user_id: 'u', lesson_id: 'l', role: 'student' }]],
    ['null', null],
    ['a string', 'join'],
    ['a number', 5],
    ['nothing', undefined],
    ['a missing field', { user_id: 'u', role: 'student' }],
    ['an ill-typed field', { user_id: true, lesson_id: 'l', role: 'student' }],
    ['an id with a colon', { user_id: 'a:b', lesson_id: 'l', role: 'student' }],
    ['an unknown role', { user_id: 'u', lesson_id: 'l', role: 'janitor' }],
    ['a fractional id', { user_id: 1.5, lesson_id: 'l', role: 'student' }],
  ])('refuse %s', (_what, payload) => {
    expect(join(payload)).toMatchObject(invalid);
  });

  it('refuse a display name with control characters and a seat that is not a number', () => {
    const base = { lesson_id: 'l', seat_id: '1', student_id: 's' };
    expect(seat({ ...base, display_name: 'A\u0007da' })).toMatchObject(invalid);
    expect(seat({ ...base, display_name: 'Ada', seat_id: 'one' })).toMatchObject(invalid);
  });

  it('refuse a payload larger than the limit even when its fields are valid', () => {
    const padding = 'x'.repeat(MAX_PAYLOAD_BYTES);
    expect(join({ user_id: 'u', lesson_id: 'l', role: 'student', padding })).toMatchObject({
      ok: false,
      error: { code: 'invalid_payload', message: expect.stringContaining('bytes') },
    });
  });

  it('name the offending field in the message', () => {
    expect(join({ user_id: 'u', role: 'student' })).toMatchObject({
      error: { message: expect.stringContaining('lesson_id') },
    });
  });

  it('never let __proto__ or constructor keys reach the parsed object', () => {
    const hostile = JSON.parse(
      '{"__proto__":{"polluted":true},"constructor":{"x":1},"user_id":"u","org_id":"o"}',
    );
    const parsed = parsePayload(EVENT_SCHEMAS.logout, hostile);
    expect(parsed).toEqual({ ok: true, value: { user_id: 'u', org_id: 'o' } });
    expect(parsed.ok && Object.getPrototypeOf(parsed.value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('do not take fields from a prototype', () => {
    const inherited = JSON.parse('{"__proto__":{"user_id":"u","org_id":"o"}}');
    expect(parsePayload(EVENT_SCHEMAS.logout, inherited)).toMatchObject(invalid);
  });
});

describe('readRequest', () => {
  it('turns a get_presence_history payload into the node’s request, 50 records unless asked', () => {
    expect(readRequest('get_presence_history', { user_id: 't-1' })).toEqual({
      ok: true,
      value: { name: 'get_presence_history', userId: 't-1', limit: 50 },
    });
    expect(readRequest('get_presence_history', { user_id: 't-1', limit: 200, before: 5 })).toEqual({
      ok: true,
      value: { name: 'get_presence_history', userId: 't-1', limit: 200, beforeMs: 5 },
    });
  });

  it.each([
    ['a limit over 200', { user_id: 't-1', limit: 201 }],
    ['a limit under 1', { user_id: 't-1', limit: 0 }],
    ['a fractional limit', { user_id: 't-1', limit: 2.5 }],
    ['a before that is not a time', { user_id: 't-1', before: 'yesterday' }],
    ['no user', { limit: 10 }],
  ])('refuses %s as invalid_payload', (_case, payload) => {
    expect(readRequest('get_presence_history', payload)).toMatchObject(invalid);
  });

  it('reads refresh_token’s token from `auth`', () => {
    expect(readRequest('refresh_token', { auth: 'a.b.c' })).toEqual({
      ok: true,
      value: { name: 'refresh_token', token: 'a.b.c' },
    });
    expect(readRequest('refresh_token', { auth: '' })).toMatchObject(invalid);
  });

  it('knows log_out as logout, and nothing of an event the contract does not name', () => {
    expect(readRequest('log_out', { user_id: 't-1', org_id: 'o-1' })).toEqual({
      ok: true,
      value: { name: 'logout', userId: 't-1', orgId: 'o-1' },
    });
    expect(readRequest('delete_everything', {})).toBeNull();
  });
});
