import { describe, expect, it } from 'vitest';
import { parseNodeUrl } from '../../sim/load/node-url.js';

describe('parseNodeUrl', () => {
  it.each([
    ['http://127.0.0.1:3000', 'http://127.0.0.1:3000'],
    ['http://127.8.9.10:3000/', 'http://127.8.9.10:3000'],
    ['http://localhost:3000', 'http://localhost:3000'],
    ['http://[::1]:3000', 'http://[::1]:3000'],
  ])('accepts the loopback node %s', (text, origin) => {
    expect(parseNodeUrl(text)).toEqual({ ok: true, url: origin });
  });

  it.each([
    ['http://10.0.0.1:3000', 'not a loopback address'],
    ['http://example.com:3000', 'not a loopback address'],
    ['http://127.0.0.1.nip.io:3000', 'not a loopback address'],
    ['http://[::ffff:7f00:1]:3000', 'not a loopback address'],
    ['https://127.0.0.1:3000', 'must be an http:// URL'],
    ['ws://127.0.0.1:3000', 'must be an http:// URL'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', (text, reason) => {
    const parsed = parseNodeUrl(text);
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.reason).toContain(reason);
  });
});
