import { describe, expect, it } from 'vitest';
import { readHandshake } from '../../../src/adapters/socket-io/handshake.js';

describe('readHandshake', () => {
  it('reads the query string fields', () => {
    const query = { role: 'teacher', org_id: 'o-1', auth: 'jwt', EIO: '4', transport: 'polling' };
    expect(readHandshake({ auth: {}, query })).toEqual({
      ok: true,
      value: { role: 'teacher', orgId: 'o-1', token: 'jwt' },
    });
  });

  it('prefers the auth object to the query string', () => {
    const auth = { role: 'admin', product_type: 'manager', auth: 'from-auth' };
    const query = { role: 'teacher', auth: 'from-query', org_id: 'o-1' };
    expect(readHandshake({ auth, query })).toEqual({
      ok: true,
      value: { role: 'admin', orgId: 'o-1', productType: 'manager', token: 'from-auth' },
    });
  });

  it('accepts auth.token as a synonym of auth.auth', () => {
    expect(readHandshake({ auth: { token: 'jwt' }, query: {} })).toEqual({
      ok: true,
      value: { token: 'jwt' },
    });
  });

  it('turns an integer org_id into its decimal string', () => {
    expect(readHandshake({ auth: { org_id: 7 }, query: {} })).toEqual({
      ok: true,
      value: { orgId: '7' },
    });
  });

  it.each([
    ['a repeated query parameter', {}, { role: ['teacher', 'admin'] }],
    ['an object', { auth: { nested: 'jwt' } }, {}],
    ['null', { org_id: null }, {}],
    ['a fraction', { org_id: 1.5 }, {}],
    ['a boolean', { role: true }, {}],
  ])('refuses %s as invalid_handshake', (_what, auth, query) => {
    expect(readHandshake({ auth, query })).toMatchObject({
      ok: false,
      error: { code: 'invalid_handshake' },
    });
  });

  it('never reads inherited properties', () => {
    const auth = Object.create({ role: 'teacher' });
    expect(readHandshake({ auth, query: {} })).toEqual({ ok: true, value: {} });
  });
});
