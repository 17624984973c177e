import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Config, type ConfigError, loadConfig } from '../src/config.js';

const configOf = (env: NodeJS.ProcessEnv): Config => {
  const result = loadConfig(env);
  if (!result.ok) throw new Error(`unexpected configuration error: ${result.error.message}`);
  return result.value;
};

const errorOf = (env: NodeJS.ProcessEnv): ConfigError => {
  const result = loadConfig(env);
  if (result.ok) throw new Error('the configuration was accepted');
  return result.error;
};

const production = { REDIS_URL: 'redis://127.0.0.1:6379/0', AUTH_JWT_SECRET: 'prod-secret' };

describe('loadConfig', () => {
  it('runs embedded with the documented defaults when nothing is set', () => {
    const config = configOf({});
    expect(config).toMatchObject({
      mode: 'embedded',
      host: '0.0.0.0',
      port: 3000,
      redisUrl: null,
      databaseUrl: null,
      redisKeyPrefix: '',
      jwtSecretGenerated: true,
      timings: { presenceTtlS: 60, disconnectGraceS: 300, cooldownS: 300, lessonTtlS: 86_400 },
      sweepIntervalS: 5,
      rateLimit: { perS: 20, burst: 40 },
      mixpanel: null,
      logLevel: 'info',
      edge: {
        allowEio3: false,
        corsOrigins: null,
        trustProxy: false,
        maxConnectionsPerIp: 5000,
        handshakeFailuresPerIpPerMin: 120,
      },
      presenceLogDays: 30,
      consoleEnabled: true,
    });
    expect(config.jwt.issuer).toBeUndefined();
    expect(config.jwt.audience).toBeUndefined();
    expect(config.jwt.jwksFile).toBeUndefined();
  });

  it('makes a fresh random secret for each embedded start', () => {
    const first = configOf({}).jwt.secret;
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(configOf({}).jwt.secret).not.toBe(first);
  });

  it('keeps a given secret in embedded mode', () => {
    const config = configOf({ AUTH_JWT_SECRET: 'mine' });
    expect(config.jwt.secret).toBe('mine');
    expect(config.jwtSecretGenerated).toBe(false);
  });

  it('reads every variable', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [] }));
    const config = configOf({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: 'rediss://cache.internal:6380/2',
      DATABASE_URL: 'postgresql://app@db.internal:5432/classroom',
      REDIS_KEY_PREFIX: 'classroom:',
      AUTH_JWT_SECRET: 'prod-secret',
      AUTH_JWKS_FILE: jwksFile,
      AUTH_ISSUER: 'https://id.example',
      AUTH_AUDIENCE: 'classroom',
      PRESENCE_TTL_S: '30',
      DISCONNECT_GRACE_S: '120',
      COOLDOWN_S: '90',
      LESSON_TTL_S: '3600',
      SWEEP_INTERVAL_S: '2',
      MIXPANEL_TOKEN: 'mp-token',
      MIXPANEL_HOST: 'mixpanel-proxy.internal:8443',
      RATE_LIMIT_PER_S: '5',
      RATE_LIMIT_BURST: '10',
      LOG_LEVEL: 'debug',
      ALLOW_EIO3: 'true',
      CORS_ORIGINS: 'https://teacher.example, http://localhost:5173,capacitor://localhost',
      TRUST_PROXY: 'true',
      MAX_CONNECTIONS_PER_IP: '50',
      HANDSHAKE_FAILURES_PER_IP_PER_MIN: '10',
      PRESENCE_LOG_DAYS: '90',
      CONSOLE_ENABLED: 'false',
    });
    expect(config).toMatchObject({
      mode: 'production',
      host: '127.0.0.1',
      port: 0,
      redisUrl: 'rediss://cache.internal:6380/2',
      databaseUrl: 'postgresql://app@db.internal:5432/classroom',
      redisKeyPrefix: 'classroom:',
      jwt: {
        secret: 'prod-secret',
        jwksFile,
        issuer: 'https://id.example',
        audience: 'classroom',
      },
      jwtSecretGenerated: false,
      timings: { presenceTtlS: 30, disconnectGraceS: 120, cooldownS: 90, lessonTtlS: 3600 },
      sweepIntervalS: 2,
      rateLimit: { perS: 5, burst: 10 },
      mixpanel: { token: 'mp-token', host: 'mixpanel-proxy.internal:8443', protocol: 'https' },
      logLevel: 'debug',
      edge: {
        allowEio3: true,
        corsOrigins: ['https://teacher.example', 'http://localhost:5173', 'capacitor://localhost'],
        trustProxy: true,
        maxConnectionsPerIp: 50,
        handshakeFailuresPerIpPerMin: 10,
      },
      presenceLogDays: 90,
      consoleEnabled: false,
    });
  });

  it('is in production mode as soon as either URL is set', () => {
    expect(configOf(production).mode).toBe('production');
    expect(
      configOf({ DATABASE_URL: 'postgres://postgres@127.0.0.1/x', AUTH_JWT_SECRET: 's' }).mode,
    ).toBe('production');
  });

  it('treats an empty variable as unset', () => {
    expect(configOf({ PORT: '', LOG_LEVEL: '', REDIS_URL: '' })).toMatchObject({
      mode: 'embedded',
      port: 3000,
      logLevel: 'info',
    });
  });

  it('accepts the whole range of ports and MIXPANEL_HOST without a port', () => {
    expect(configOf({ PORT: '65535' }).port).toBe(65_535);
    expect(configOf({ MIXPANEL_TOKEN: 't', MIXPANEL_HOST: 'localhost' }).mixpanel).toEqual({
      token: 't',
      host: 'localhost',
      protocol: 'https',
    });
    expect(
      configOf({ MIXPANEL_TOKEN: 't', MIXPANEL_HOST: 'http://127.0.0.1:8080' }).mixpanel,
    ).toEqual({ token: 't', host: '127.0.0.1:8080', protocol: 'http' });
  });

  it.each([
    ['PORT', { PORT: '65536' }],
    ['PORT', { PORT: '-1' }],
    ['PORT', { PORT: '80a' }],
    ['PORT', { PORT: '3.5' }],
    ['REDIS_URL', { ...production, REDIS_URL: 'http://127.0.0.1:6379' }],
    ['REDIS_URL', { ...production, REDIS_URL: 'not a url' }],
    ['DATABASE_URL', { DATABASE_URL: 'mysql://db/x', AUTH_JWT_SECRET: 's' }],
    ['DATABASE_URL', { DATABASE_URL: 'postgres://', AUTH_JWT_SECRET: 's' }],
    ['AUTH_JWT_SECRET', { REDIS_URL: 'redis://127.0.0.1:6379' }],
    ['AUTH_JWT_SECRET', { DATABASE_URL: 'postgres://postgres@127.0.0.1/x' }],
    ['AUTH_JWKS_FILE', { AUTH_JWKS_FILE: '/nonexistent/jwks.json' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'has space' }],
    ['REDIS_KEY_PREFIX', { REDIS_KEY_PREFIX: 'x'.repeat(65) }],
    ['PRESENCE_TTL_S', { PRESENCE_TTL_S: '0' }],
    ['DISCONNECT_GRACE_S', { DISCONNECT_GRACE_S: 'five' }],
    ['COOLDOWN_S', { COOLDOWN_S: '-3' }],
    ['LESSON_TTL_S', { LESSON_TTL_S: '1e6' }],
    ['SWEEP_INTERVAL_S', { SWEEP_INTERVAL_S: '0' }],
    ['SWEEP_INTERVAL_S', { SWEEP_INTERVAL_S: '2000001' }],
    ['MIXPANEL_HOST', { MIXPANEL_TOKEN: 't', MIXPANEL_HOST: 'ftp://api.mixpanel.com' }],
    ['MIXPANEL_HOST', { MIXPANEL_TOKEN: 't', MIXPANEL_HOST: 'https://api.mixpanel.com/track' }],
    ['MIXPANEL_HOST', { MIXPANEL_TOKEN: 't', MIXPANEL_HOST: 'proxy:70000' }],
    ['RATE_LIMIT_PER_S', { RATE_LIMIT_PER_S: '0' }],
    ['RATE_LIMIT_BURST', { RATE_LIMIT_BURST: '1.5' }],
    ['LOG_LEVEL', { LOG_LEVEL: 'verbose' }],
    ['CONSOLE_ENABLED', { CONSOLE_ENABLED: 'no' }],
    ['ALLOW_EIO3', { ALLOW_EIO3: 'yes' }],
    ['TRUST_PROXY', { TRUST_PROXY: '1' }],
    ['CONSOLE_ENABLED', { CONSOLE_ENABLED: 'TRUE' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'teacher.example' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://teacher.example/' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://teacher.example/app' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://teacher.example:443' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://Teacher.example' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://teacher.example:70000' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: 'https://teacher.example,,https://manager.example' }],
    ['CORS_ORIGINS', { CORS_ORIGINS: '*' }],
    ['MAX_CONNECTIONS_PER_IP', { MAX_CONNECTIONS_PER_IP: '0' }],
    ['HANDSHAKE_FAILURES_PER_IP_PER_MIN', { HANDSHAKE_FAILURES_PER_IP_PER_MIN: 'many' }],
    ['PRESENCE_LOG_DAYS', { PRESENCE_LOG_DAYS: '0' }],
  ])('refuses a bad %s with one line that names it', (variable, env) => {
    const error = errorOf(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
    expect(error.message).not.toContain('\n');
  });

  it('names the origin a browser would send when a CORS_ORIGINS entry is written otherwise', () => {
    expect(errorOf({ CORS_ORIGINS: 'https://teacher.example:443' }).message).toContain(
      'write "https://teacher.example"',
    );
    expect(errorOf({ CORS_ORIGINS: 'http://Localhost:8080' }).message).toContain(
      'write "http://localhost:8080"',
    );
  });

  it('refuses a JWKS file that is not JSON or has no keys', () => {
    const dir = mkdtempSync(join(tmpdir(), 'config-'));
    const notJson = join(dir, 'broken.json');
    const noKeys = join(dir, 'empty.json');
    writeFileSync(notJson, '{');
    writeFileSync(noKeys, '{}');
    expect(errorOf({ AUTH_JWKS_FILE: notJson }).message).toMatch(/AUTH_JWKS_FILE .*not JSON/);
    expect(errorOf({ AUTH_JWKS_FILE: noKeys }).message).toMatch(/AUTH_JWKS_FILE .*"keys"/);
  });

  it('never repeats a URL in its error, since URLs carry passwords', () => {
    const error = errorOf({ ...production, REDIS_URL: 'http://user:hunter2@cache:6379' });
    expect(error.message).not.toContain('hunter2');
  });
});
