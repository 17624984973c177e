import {
  type Audience,
  audienceKey,
  type RealtimeNotifier,
  type ServerEvent,
} from '../../application/ports/realtime-notifier.js';
import type { TeacherRef } from '../../domain/clients.js';
import { appendBounded } from './bounded.js';

export interface NotifierHooks {
  /** An event reached a socket. */
  deliver?(sid: string, event: ServerEvent): void;
  /** The server disconnected a socket (force logout, token expiry): its holder runs the disconnect. */
  disconnect?(sid: string): void;
}

/**
 * How one node of several reaches the others' sockets, over a link to them that may fail (the
 * Redis adapter's publish and subscription).
 */
export interface NotifierLink {
  /** Whether an event this node sends reaches socket `sid` now: its own sockets always do. */
  reaches(sid: string): boolean;
  /** Registers the node's listener for its link coming back after a loss. */
  onRestored(listener: () => void): void;
}

export interface Delivery {
  readonly sid: string;
  readonly event: ServerEvent;
}

/**
 * Rooms and deliveries in memory: the notifier of embedded mode and unit tests, and of the
 * simulator, where K simulated nodes share one instance as Socket.IO nodes share rooms over the
 * Redis adapter, each through its own `seenFrom` view.
 * A socket takes part once `connect(sid)` is called and until `disconnect(sid)`; joins of unknown
 * sockets are ignored, as a socket that went away cannot be put back into a room. The last
 * `capacity` deliveries are kept in `delivered`; `takeDelivered()` reads and clears them. Rooms
 * are named by `audienceKey`, as Socket.IO's are, so org `7` and lesson `7` stay apart here too.
 */
export class InMemoryNotifier implements RealtimeNotifier {
  readonly delivered: Delivery[] = [];
  private readonly rooms = new Map<string, Set<string>>();
  /** Connected sockets and the rooms each is in. */
  private readonly sockets = new Map<string, Set<string>>();

  constructor(
    private readonly hooks: NotifierHooks = {},
    private readonly capacity = 10_000,
  ) {}

  connect(sid: string): void {
    if (!this.sockets.has(sid)) this.sockets.set(sid, new Set());
  }

  /** The socket went away: it leaves every room. */
  disconnect(sid: string): void {
    for (const room of this.sockets.get(sid) ?? []) {
      const members = this.rooms.get(room);
      members?.delete(sid);
      if (members?.size === 0) this.rooms.delete(room);
    }
    this.sockets.delete(sid);
  }

  async leaveAll(sid: string): Promise<void> {
    this.disconnect(sid);
  }

  isConnected(sid: string): boolean {
    return this.sockets.has(sid);
  }

  membersOf(audience: Audience): string[] {
    return [...(this.rooms.get(audienceKey(audience)) ?? [])];
  }

  takeDelivered(): Delivery[] {
    return this.delivered.splice(0, this.delivered.length);
  }

  async join(sid: string, audience: Audience): Promise<void> {
    const joined = this.sockets.get(sid);
    if (joined === undefined) return;
    const room = audienceKey(audience);
    joined.add(room);
    let members = this.rooms.get(room);
    if (members === undefined) {
      members = new Set();
      this.rooms.set(room, members);
    }
    members.add(sid);
  }

  async emit(audience: Audience, event: ServerEvent): Promise<void> {
    this.emitWhere(audience, event, () => true);
  }

  /** One process holds every socket: nothing is ever lost between nodes. */
  onLinkRestored(): void {}

  /**
   * The notifier as one node of several sees it: what it emits reaches only the sockets `link`
   * says it reaches — what a node publishes while its link is down, or what another node publishes
   * while this one's is, is lost, as with the Redis adapter — and the node hears when its link is
   * back. Rooms, closes and force-outs are the shared ones.
   */
  seenFrom(link: NotifierLink): RealtimeNotifier {
    return {
      join: (sid, audience) => this.join(sid, audience),
      leaveAll: (sid) => this.leaveAll(sid),
      close: (sid) => this.close(sid),
      forceOut: (teacher, sid, event) => this.forceOut(teacher, sid, event),
      emit: async (audience, event) => this.emitWhere(audience, event, link.reaches),
      onLinkRestored: (listener) => link.onRestored(listener),
    };
  }

  private emitWhere(audience: Audience, event: ServerEvent, reaches: (sid: string) => boolean) {
    const sids = audience.kind === 'socket' ? [audience.sid] : this.membersOf(audience);
    for (const sid of sids) {
      if (this.sockets.has(sid) && reaches(sid)) this.deliver(sid, event);
    }
  }

  async close(sid: string): Promise<void> {
    if (!this.sockets.has(sid)) return;
    this.disconnect(sid);
    this.hooks.disconnect?.(sid);
  }

  async forceOut(teacher: TeacherRef, sid: string | null, event: ServerEvent): Promise<number> {
    const targets = new Set(this.membersOf({ kind: 'teacher_apps', teacher }));
    if (sid !== null && this.sockets.has(sid)) targets.add(sid);
    for (const target of targets) this.deliver(target, event);
    for (const target of targets) {
      this.disconnect(target);
      this.hooks.disconnect?.(target);
    }
    return targets.size;
  }

  private deliver(sid: string, event: ServerEvent): void {
    appendBounded(this.delivered, { sid, event }, this.capacity);
    this.hooks.deliver?.(sid, event);
  }
}
