import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { runToken, type TokenOptions } from '../../cli/commands/token.js';
import { JoseTokenVerifier } from '../../src/adapters/jwt/jose-token-verifier.js';
import { runClassroom } from './cli-process.js';

const secret = 'a-cli-test-secret-of-enough-length';

/** Runs the command's action in this process and keeps what it wrote. */
async function tokenInProcess(options: Partial<TokenOptions>, env: NodeJS.ProcessEnv) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runToken(
    { sub: 't-ada', org: 'demo-org', role: 'teacher', ttl: '3600', ...options },
    env,
    { writeOut: (text) => stdout.push(text), writeErr: (text) => stderr.push(text) },
  );
  return { code, stdout: stdout.join(''), stderr: stderr.join('') };
}

describe('classroom token, run as a process', () => {
  it('prints a token that the service verifies with the same secret', async () => {
    const { code, stdout, stderr } = await runClassroom(
      ['token', '--sub', 't-ada', '--org', 'demo-org', '--role', 'teacher', '--ttl', '120'],
      { AUTH_JWT_SECRET: secret },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const token = stdout.trim();
    expect(stdout).toBe(`${token}\n`);
    const claims = decodeJwt(token);
    expect(await new JoseTokenVerifier({ secret }).verify(token)).toEqual({
      ok: true,
      value: { userId: 't-ada', orgId: 'demo-org', role: 'teacher', expiresAtS: claims.exp },
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(120);
  });

  it.concurrent.each([
    ['AUTH_JWT_SECRET is missing', ['--role', 'teacher'], {}, /^AUTH_JWT_SECRET /],
    ['the role is unknown', ['--role', 'janitor'], { AUTH_JWT_SECRET: secret }, /^--role /],
    ['a required option is missing', [], { AUTH_JWT_SECRET: secret }, /^error: .*--role/],
  ])('exits 2 with one line when %s', async (_case, role, env, message) => {
    const args = ['token', '--sub', 't-ada', '--org', 'demo-org', ...role];
    const { code, stdout, stderr } = await runClassroom(args, env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('exits 2 for an unknown command', async () => {
    const { code, stderr } = await runClassroom(['tokens']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^error: unknown command 'tokens'/);
  });
});

describe('classroom token', () => {
  it('signs for the configured issuer and audience, and lives an hour by default', async () => {
    const { code, stdout } = await tokenInProcess(
      {},
      { AUTH_JWT_SECRET: secret, AUTH_ISSUER: 'https://id.example', AUTH_AUDIENCE: 'classroom' },
    );
    expect(code).toBe(0);
    const strict = new JoseTokenVerifier({
      secret,
      issuer: 'https://id.example',
      audience: 'classroom',
    });
    expect((await strict.verify(stdout.trim())).ok).toBe(true);
    const claims = decodeJwt(stdout.trim());
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(3600);
  });

  it.each([
    ['--sub', { sub: 'a b' }],
    ['--sub', { sub: '' }],
    ['--org', { org: 'o'.repeat(65) }],
    ['--role', { role: 'Teacher' }],
    ['--ttl', { ttl: '1.5' }],
    ['--ttl', { ttl: '0' }],
    ['--ttl', { ttl: '31536001' }],
  ])('refuses a bad %s with exit code 2 and one line naming it', async (option, bad) => {
    const { code, stdout, stderr } = await tokenInProcess(bad, { AUTH_JWT_SECRET: secret });
    expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
    expect(stderr.startsWith(`${option} `)).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('counts an empty AUTH_JWT_SECRET as missing', async () => {
    const { code, stderr } = await tokenInProcess({}, { AUTH_JWT_SECRET: '' });
    expect(code).toBe(2);
    expect(stderr).toMatch(/^AUTH_JWT_SECRET /);
  });
});
