import { afterEach, describe, expect, it, vi } from 'vitest';
import { onPath, requireService } from './services.js';

describe('requireService', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it('lets a suite run when what it needs is there', () => {
    vi.stubEnv('CI', 'true');
    expect(requireService('redis-server', true)).toBe(true);
  });

  it('skips a suite off CI and names the reason', () => {
    vi.stubEnv('CI', '');
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(requireService('redis-server', false, 'is not on PATH')).toBe(false);
    expect(warn).toHaveBeenCalledWith(
      '[skipped] redis-server is not on PATH: its tests are skipped.',
    );
  });

  it('fails under CI=true with the reason, so that CI is never silently green', () => {
    vi.stubEnv('CI', 'true');
    expect(() => requireService('redis-server', false, 'is not on PATH')).toThrow(
      'redis-server is required in CI (CI=true) but is not on PATH.',
    );
  });
});

describe('onPath', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('finds a program in a directory of PATH and nothing elsewhere', () => {
    vi.stubEnv('PATH', '/nonexistent:/bin:/usr/bin');
    expect(onPath('sh')).toMatch(/^\/(usr\/)?bin\/sh$/);
    vi.stubEnv('PATH', '/nonexistent');
    expect(onPath('sh')).toBeNull();
  });
});
