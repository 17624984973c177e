import { describe, expect, it } from 'vitest';
import { queryOf, readHandshake } from '../../../src/adapters/socket-io/handshake.js';

const query = (search: string) => queryOf(`/sockets/?${search}`);

describe('readHandshake', () => {
  it('reads the query string fields', () => {
    expect(
      readHandshake({
        auth: {},
        query: query('EIO=4&transport=polling&role=teacher&org_id=o-1&auth=jwt'),
      }),
    ).toEqual({ ok: true, value: { role: 'teacher', orgId: 'o-1', token: 'jwt' } });
  });

  it('prefers the auth object to the query string', () => {
    const auth = { role: 'admin', product_type: 'manager', auth: 'from-auth' };
    expect(
      readHandshake({ auth, query: query('role=teacher&auth=from-query&org_id=o-1') }),
    ).toEqual({
      ok: true,
      value: { role: 'admin', orgId: 'o-1', productType: 'manager', token: 'from-auth' },
    });
  });

  it('accepts token as a synonym of auth', () => {
    expect(readHandshake({ auth: { token: 'jwt' }, query: query('') })).toEqual({
      ok: true,
      value: { token: 'jwt' },
    });
  });

  it('turns an integer org_id into its decimal string', () => {
    expect(readHandshake({ auth: { org_id: 7 }, query: query('') })).toEqual({
      ok: true,
      value: { orgId: '7' },
    });
  });

  it.each([
    ['a repeated query parameter', {}, 'role=teacher&role=admin'],
    ['an object', { auth: { nested: 'jwt' } }, ''],
    ['an array', { role: ['teacher'] }, ''],
    ['null', { org_id: null }, ''],
    ['a fraction', { org_id: 1.5 }, ''],
    ['a boolean', { role: true }, ''],
  ])('refuses %s as invalid_handshake', (_what, auth, search) => {
    expect(readHandshake({ auth, query: query(search) })).toMatchObject({
      ok: false,
      error: { code: 'invalid_handshake' },
    });
  });

  it('never reads inherited properties', () => {
    const auth = Object.create({ role: 'teacher' });
    expect(readHandshake({ auth, query: query('') })).toEqual({ ok: true, value: {} });
  });
});

describe('queryOf', () => {
  it('reads nothing from a request without a query string', () => {
    expect([...queryOf('/sockets/').keys()]).toEqual([]);
    expect([...queryOf(undefined).keys()]).toEqual([]);
  });

  it('keeps every value of a repeated parameter', () => {
    expect(query('a=1&a=2').getAll('a')).toEqual(['1', '2']);
  });
});
