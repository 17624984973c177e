import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientIp } from '../../../src/adapters/socket-io/client-ip.js';

describe('clientIp', () => {
  const request = (forwardedFor?: string) =>
    ({
      headers: forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor },
      socket: { remoteAddress: '10.0.0.9' },
    }) as unknown as IncomingMessage;

  it('is the remote address unless the proxy is trusted', () => {
    expect(clientIp(request('203.0.113.7'), false)).toBe('10.0.0.9');
  });

  it('is the first X-Forwarded-For hop when the proxy is trusted', () => {
    expect(clientIp(request(' 203.0.113.7 , 10.0.0.1'), true)).toBe('203.0.113.7');
  });

  it('falls back to the remote address when a trusted proxy sent no hop', () => {
    expect(clientIp(request(), true)).toBe('10.0.0.9');
    expect(clientIp(request(''), true)).toBe('10.0.0.9');
  });
});
