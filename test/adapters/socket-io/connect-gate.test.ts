import { describe, expect, it } from 'vitest';
import { connectTarget } from '../../../src/adapters/socket-io/connect-gate.js';

describe('connectTarget', () => {
  it.each([
    ['0/classroom,{"auth":"t"}', 4, '/classroom'],
    ['0/classroom', 4, '/classroom'],
    ['0{"auth":"t"}', 4, '/'],
    ['0', 4, '/'],
    ['0/admin,', 4, '/admin'],
    ['0/classroom?role=teacher&auth=t', 3, '/classroom'],
    ['0/classroom?role=teacher,', 3, '/classroom'],
    ['0/a/../classroom', 3, '/classroom'],
  ])('reads %j (Engine.IO %i) as a CONNECT to %s', (packet, protocol, namespace) => {
    expect(connectTarget(packet, protocol)).toBe(namespace);
  });

  it.each([
    ['an event', '42/classroom,["join_lesson",{}]'],
    ['a disconnect', '41/classroom,'],
    ['a binary attachment', Buffer.from('0/classroom')],
    ['an empty message', ''],
  ])('passes %s by', (_what, packet) => {
    expect(connectTarget(packet, 4)).toBeNull();
  });
});
