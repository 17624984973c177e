import { decode, encode } from 'notepack.io';

/** MessagePack's header of a three-element array: the adapter's `[uid, packet, options]`. */
const BROADCAST_HEADER = 0x93;

/**
 * The Socket.IO Redis adapter's message format (MessagePack, its default), for its `parser`
 * option, less one cost. Redis delivers every broadcast to its publisher too, and the adapter
 * decodes each whole before it sees, by the sender's uid, that it is its own and drops it: on one
 * node that is every event pushed to a room. This parser recognises the node's own broadcasts by
 * their first bytes and hands the adapter just the uid it drops them by.
 */
export class ClusterParser {
  private readonly own: Array<{ readonly uid: string; readonly prefix: Buffer }> = [];

  /** An adapter of this process: broadcasts from its `uid` are ours. */
  ownAdapter(uid: string): void {
    this.own.push({ uid, prefix: Buffer.concat([Buffer.of(BROADCAST_HEADER), encode(uid)]) });
  }

  encode(message: unknown): Buffer {
    return encode(message);
  }

  decode(message: Buffer): unknown {
    for (const { uid, prefix } of this.own) {
      if (message.length > prefix.length && prefix.equals(message.subarray(0, prefix.length))) {
        return [uid];
      }
    }
    return decode(message);
  }
}
