import { decode, encode } from 'notepack.io';
import { describe, expect, it } from 'vitest';
import { ClusterParser } from '../../../src/adapters/redis/cluster-parser.js';

/** A broadcast as the Socket.IO Redis adapter publishes it. */
const broadcast = (uid: string) => [
  uid,
  { type: 2, data: ['set_student_name', { seat_id: '3' }], nsp: '/classroom' },
  { rooms: ['lesson_teachers:L-1'], except: [], flags: {} },
];

describe('ClusterParser', () => {
  it('writes and reads what the adapter’s default MessagePack parser does', () => {
    const parser = new ClusterParser();
    const message = broadcast('Ab3xYz');
    expect(parser.encode(message)).toEqual(encode(message));
    expect(parser.decode(encode(message))).toEqual(message);
  });

  it('hands back only the uid of a broadcast of its own adapters, and decodes the others whole', () => {
    const parser = new ClusterParser();
    parser.ownAdapter('Ab3xYz');
    parser.ownAdapter('Qq9Rr0');
    expect(parser.decode(encode(broadcast('Ab3xYz')))).toEqual(['Ab3xYz']);
    expect(parser.decode(encode(broadcast('Qq9Rr0')))).toEqual(['Qq9Rr0']);
    // Another node's, even one whose uid starts like ours.
    expect(parser.decode(encode(broadcast('Ab3xYw')))).toEqual(broadcast('Ab3xYw'));
    expect(parser.decode(encode(broadcast('Ab3xYzz')))).toEqual(broadcast('Ab3xYzz'));
  });

  it('decodes the adapter’s requests whole, also those of its own uid', () => {
    const parser = new ClusterParser();
    parser.ownAdapter('Ab3xYz');
    const request = { uid: 'Ab3xYz', requestId: 'r-1', type: 5, opts: { rooms: [] } };
    expect(parser.decode(encode(request))).toEqual(request);
    expect(decode(parser.encode(request))).toEqual(request);
  });
});
