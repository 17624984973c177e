import { SignJWT } from 'jose';
import type { Role } from '../../domain/clients.js';

export interface AccessTokenRequest {
  readonly secret: string;
  readonly sub: string;
  readonly orgId: string;
  readonly role: Role;
  readonly ttlS: number;
  readonly nowS: number;
  readonly issuer?: string;
  readonly audience?: string;
}

/** Signs an HS256 access token as the service expects it; for `classroom token`, demos and tests. */
export function signAccessToken(request: AccessTokenRequest): Promise<string> {
  let jwt = new SignJWT({ org_id: request.orgId, role: request.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(request.sub)
    .setIssuedAt(request.nowS)
    .setExpirationTime(request.nowS + request.ttlS);
  if (request.issuer !== undefined) jwt = jwt.setIssuer(request.issuer);
  if (request.audience !== undefined) jwt = jwt.setAudience(request.audience);
  return jwt.sign(new TextEncoder().encode(request.secret));
}
