import { pino } from 'pino';
import { DEMO } from '../../src/adapters/in-memory/demo-data.js';
import { signAccessToken } from '../../src/adapters/jwt/sign-access-token.js';
import { loadConfig } from '../../src/config.js';
import type { Role } from '../../src/domain/clients.js';
import { type RunningService, startService } from '../../src/runtime.js';

export interface DemoService {
  readonly service: RunningService;
  /** An access token of a demo-org user, valid for `ttlS` (ten minutes unless asked). */
  token(sub: string, role: Role, ttlS?: number): Promise<string>;
}

/**
 * An embedded node on a free loopback port, configured from `env` as `classroom serve` would be,
 * with the demo school (DEMO): what clients the project did not write are tried against.
 */
export async function startDemoService(env: NodeJS.ProcessEnv = {}): Promise<DemoService> {
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', ...env });
  if (!config.ok) throw new Error(config.error.message);
  const { secret } = config.value.jwt;
  const service = await startService(config.value, { logger: pino({ level: 'silent' }) });
  return {
    service,
    token: (sub, role, ttlS = 600) =>
      signAccessToken({
        secret,
        sub,
        orgId: DEMO.orgId,
        role,
        ttlS,
        nowS: Math.floor(Date.now() / 1000),
      }),
  };
}
