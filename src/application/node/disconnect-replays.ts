import type { HeldSocketState } from '../ports/presence-store.js';

/** A TeacherApp disconnect the store could not take when it happened. */
export interface PendingDisconnect {
  /** The socket as its node held it: what the node puts back if the store lost it meanwhile. */
  readonly state: HeldSocketState;
  readonly reason: string;
  /** When the socket went: the grace period counts from then, whenever it is written. */
  readonly atMs: number;
}

/**
 * The presence transitions a node could not write while its link to the store was down
 * (PROTOCOL §6a.4), kept in the order they happened, to be written once the store answers again.
 * One entry per socket (a socket goes once); bounded: past `limit` the oldest is dropped and
 * counted — its session then ends through `node_lost`, a grace period later than it would have.
 */
export class DisconnectReplays {
  private readonly waiting = new Map<string, PendingDisconnect>();
  dropped = 0;

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.waiting.size;
  }

  add(entry: PendingDisconnect): void {
    if (this.waiting.size >= this.limit) {
      const [oldest] = this.waiting.keys();
      if (oldest !== undefined) this.waiting.delete(oldest);
      this.dropped += 1;
    }
    this.waiting.set(entry.state.socket.sid, entry);
  }

  /** The oldest waiting, or undefined. */
  first(): PendingDisconnect | undefined {
    return this.waiting.values().next().value;
  }

  remove(entry: PendingDisconnect): void {
    const { sid } = entry.state.socket;
    if (this.waiting.get(sid) === entry) this.waiting.delete(sid);
  }
}
