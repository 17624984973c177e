import { readFileSync } from 'node:fs';
import { createLocalJWKSet, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import type { Clock } from '../../application/ports/clock.js';
import type { TokenClaims, TokenVerifier } from '../../application/ports/token-verifier.js';
import { isRole } from '../../domain/clients.js';
import { type DomainError, domainError } from '../../domain/errors.js';
import { parseId } from '../../domain/ids.js';
import { fail, ok, type Result } from '../../domain/result.js';

export interface JwtSettings {
  /** HS256 shared secret (`AUTH_JWT_SECRET`). */
  readonly secret?: string;
  /** A local JWKS JSON file with RS256/ES256 public keys (`AUTH_JWKS_FILE`). */
  readonly jwksFile?: string;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Algorithms are pinned per key source: `alg: none` and any other algorithm are refused. */
const HMAC_ALGORITHMS = ['HS256'];
const ASYMMETRIC_ALGORITHMS = ['RS256', 'ES256'];

/**
 * Verifies access tokens with jose (PROTOCOL §2): signature, pinned algorithm, `exp` required.
 * Given a clock, `exp` is checked on the node's time — the same time that later expires the token
 * on an open socket (§2a); without one, on the system's.
 */
export class JoseTokenVerifier implements TokenVerifier {
  private readonly verifiers: ReadonlyArray<(token: string) => Promise<unknown>>;

  constructor(
    settings: JwtSettings,
    private readonly clock?: Clock,
  ) {
    const base: JWTVerifyOptions = {
      requiredClaims: ['exp', 'sub'],
      ...(settings.issuer === undefined ? {} : { issuer: settings.issuer }),
      ...(settings.audience === undefined ? {} : { audience: settings.audience }),
    };
    const options = (): JWTVerifyOptions =>
      this.clock === undefined ? base : { ...base, currentDate: new Date(this.clock.nowMs()) };
    const verifiers: Array<(token: string) => Promise<unknown>> = [];
    if (settings.secret !== undefined) {
      const key = new TextEncoder().encode(settings.secret);
      verifiers.push(
        async (token) =>
          (await jwtVerify(token, key, { ...options(), algorithms: HMAC_ALGORITHMS })).payload,
      );
    }
    if (settings.jwksFile !== undefined) {
      const keys: JWTVerifyGetKey = createLocalJWKSet(
        JSON.parse(readFileSync(settings.jwksFile, 'utf8')),
      );
      verifiers.push(
        async (token) =>
          (await jwtVerify(token, keys, { ...options(), algorithms: ASYMMETRIC_ALGORITHMS }))
            .payload,
      );
    }
    if (verifiers.length === 0) throw new Error('JoseTokenVerifier needs a secret or a JWKS file');
    this.verifiers = verifiers;
  }

  async verify(token: string): Promise<Result<TokenClaims, DomainError<'unauthorized'>>> {
    for (const verify of this.verifiers) {
      const payload = await verify(token).catch(() => null);
      if (payload !== null) return claimsOf(payload);
    }
    return fail(domainError('unauthorized', 'The access token is invalid or expired.'));
  }
}

function claimsOf(payload: unknown): Result<TokenClaims, DomainError<'unauthorized'>> {
  const { sub, org_id: orgId, role, exp } = payload as Record<string, unknown>;
  const userId = parseId(sub);
  const org = parseId(orgId);
  if (userId === null || org === null || !isRole(role)) {
    return fail(domainError('unauthorized', 'The access token lacks a valid sub, org_id or role.'));
  }
  // jose has checked that `exp` is a number in the future.
  return ok({ userId, orgId: org, role, expiresAtS: exp as number });
}
