import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { JoseTokenVerifier } from '../../../src/adapters/jwt/jose-token-verifier.js';
import { signAccessToken } from '../../../src/adapters/jwt/sign-access-token.js';

const secret = 'a-test-secret-that-is-long-enough';
const nowS = Math.floor(Date.now() / 1000);
const sign = (overrides: Partial<Parameters<typeof signAccessToken>[0]> = {}) =>
  signAccessToken({
    secret,
    sub: 'u-1',
    orgId: 'o-1',
    role: 'teacher',
    ttlS: 60,
    nowS,
    ...overrides,
  });

describe('JoseTokenVerifier', () => {
  const verifier = new JoseTokenVerifier({ secret });

  it('accepts a valid HS256 token and reads sub, org_id, role and exp', async () => {
    expect(await verifier.verify(await sign())).toEqual({
      ok: true,
      value: { userId: 'u-1', orgId: 'o-1', role: 'teacher', expiresAtS: nowS + 60 },
    });
  });

  it('checks exp on the clock it is given, the node’s own', async () => {
    const token = await sign();
    const justBefore = new JoseTokenVerifier({ secret }, { nowMs: () => (nowS + 59) * 1000 });
    const justAfter = new JoseTokenVerifier({ secret }, { nowMs: () => (nowS + 61) * 1000 });
    expect((await justBefore.verify(token)).ok).toBe(true);
    expect(await justAfter.verify(token)).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
  });

  it.each([
    ['an expired token', () => sign({ nowS: nowS - 120 })],
    [
      'a token signed with another secret',
      () => sign({ secret: 'another-secret-of-enough-length' }),
    ],
    ['garbage', async () => 'not.a.jwt'],
    ['an unknown role', () => sign({ role: 'janitor' as 'admin' })],
    ['an invalid user id', () => sign({ sub: 'a b' })],
    [
      'alg none',
      async () =>
        new UnsecuredJWT({ org_id: 'o-1', role: 'teacher' })
          .setSubject('u-1')
          .setExpirationTime('1h')
          .encode(),
    ],
    [
      'a token without exp',
      () =>
        new SignJWT({ org_id: 'o-1', role: 'teacher' })
          .setProtectedHeader({ alg: 'HS256' })
          .setSubject('u-1')
          .sign(new TextEncoder().encode(secret)),
    ],
    [
      'HS512 when HS256 is pinned',
      () =>
        new SignJWT({ org_id: 'o-1', role: 'teacher' })
          .setProtectedHeader({ alg: 'HS512' })
          .setSubject('u-1')
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode(secret)),
    ],
  ])('refuses %s as unauthorized', async (_name, make) => {
    const result = await verifier.verify(await make());
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('unauthorized');
  });

  it('checks issuer and audience when configured', async () => {
    const strict = new JoseTokenVerifier({ secret, issuer: 'iss-a', audience: 'aud-a' });
    expect((await strict.verify(await sign({ issuer: 'iss-a', audience: 'aud-a' }))).ok).toBe(true);
    expect((await strict.verify(await sign({ issuer: 'iss-b', audience: 'aud-a' }))).ok).toBe(
      false,
    );
    expect((await strict.verify(await sign({ issuer: 'iss-a' }))).ok).toBe(false);
  });

  it('verifies RS256 tokens against a local JWKS file', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const dir = mkdtempSync(join(tmpdir(), 'jwks-'));
    const file = join(dir, 'jwks.json');
    writeFileSync(
      file,
      JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] }),
    );
    const jwks = new JoseTokenVerifier({ jwksFile: file });
    const token = await new SignJWT({ org_id: 'o-1', role: 'admin' })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject('m-1')
      .setExpirationTime('1h')
      .sign(privateKey);
    expect(await jwks.verify(token)).toEqual({
      ok: true,
      value: { userId: 'm-1', orgId: 'o-1', role: 'admin', expiresAtS: decodeJwt(token).exp },
    });
    expect((await jwks.verify(await sign())).ok).toBe(false);
  });
});
