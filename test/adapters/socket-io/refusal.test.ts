import { describe, expect, it } from 'vitest';
import { connectErrorPacket } from '../../../src/adapters/socket-io/refusal.js';
import { domainError } from '../../../src/domain/errors.js';

describe('connectErrorPacket', () => {
  const refusal = domainError('invalid_handshake', 'Use /classroom.');

  it('carries message and data for Socket.IO 3 and 4 clients', () => {
    expect(connectErrorPacket('/admin', refusal, 4)).toBe(
      '4/admin,{"message":"invalid_handshake","data":{"code":"invalid_handshake","message":"Use /classroom."}}',
    );
  });

  it('carries data alone for Socket.IO 2 clients, as Socket.IO itself does, and no namespace for /', () => {
    expect(connectErrorPacket('/', { ...refusal, retryAfterS: 5 }, 3)).toBe(
      '4{"code":"invalid_handshake","message":"Use /classroom.","retry_after_s":5}',
    );
  });
});
