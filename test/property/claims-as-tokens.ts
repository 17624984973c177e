import type { TokenClaims, TokenVerifier } from '../../src/application/ports/token-verifier.js';
import type { Handshake } from '../../src/application/use-cases/connect-client.js';
import type { ClientIdentity } from '../../src/domain/clients.js';
import { ok } from '../../src/domain/result.js';

/** Far beyond any test's virtual time: these tokens never run out. */
const NEVER_S = Date.UTC(2100, 0, 1) / 1000;

/** Tokens that are the claims themselves: the token checks have tests of their own. */
export const claimsAsTokens: TokenVerifier = {
  verify: async (token) =>
    ok({ expiresAtS: NEVER_S, ...(JSON.parse(token) as Omit<TokenClaims, 'expiresAtS'>) }),
};

/** The handshake a client of this identity sends, with its claims as the token. */
export function handshakeOf(
  identity: Omit<ClientIdentity, 'kind'>,
  productType?: 'manager',
): Handshake {
  return {
    role: identity.role,
    orgId: identity.orgId,
    token: JSON.stringify(identity),
    ...(productType === undefined ? {} : { productType }),
  };
}
